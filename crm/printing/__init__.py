"""Print-ready PDFs: no Flask and no database here, plain data in and PDF out."""
