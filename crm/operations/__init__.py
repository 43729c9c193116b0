"""Running the app for real: production checks, logs, backups and moving databases.

Not a feature with pages: commands for IT staff and the checks at start.
"""
