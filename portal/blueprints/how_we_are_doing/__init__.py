"""The public "how we are doing" page: each published department's reply times."""
