"""Consent records: every consent and opt-in a Liker gave or withdrew (APPI)."""
