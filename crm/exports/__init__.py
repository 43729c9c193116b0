"""Files for spreadsheets: CSV and Excel writers shared by reports and list exports."""
