"""The metrics page (issue #18): reply times, satisfaction and feedback for department
leads (their departments) and administrators (all, one department, one school), each
table with its chart and its CSV download. The figures come from services/metrics."""
