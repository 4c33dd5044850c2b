"""What people get from a run: the run report as data, run.json, report.html, the feedback workbooks,
summary.xlsx and values.csv, the terminal summary, and the rendered published report.
"""
