"""Sample districts for demos and benchmarks, not business rules.

`demo` loads the small demo district behind `flask --app portal seed-demo`;
`scale` adds N requests with proportionate households, guardians, students,
messages and feedback for `seed-demo --scale N` and the benchmarks in bench/.
Both sit above the services and use them; the services never import this package.
"""
