"""Links to a page's many rows: `url_for` builds each through Werkzeug's routing, 10 µs a
link, and a queue has 25; the link is the same but for the row's number."""

from collections.abc import Callable

from flask import url_for

# A number in place of the row's while the link is built once; any number whose digits
# appear nowhere else in the link would do.
_MARKER = 904_718_263


def numbered_links(endpoint: str, argument: str) -> Callable[[int], str]:
    """`url_for(endpoint, argument=number)` for the rows of one page: the link built once,
    each row's number put in its place. Where the marker's digits are also elsewhere in
    the link (an unusual application root), each link is built by url_for."""
    marked = url_for(endpoint, **{argument: _MARKER})
    before, marker, after = marked.partition(str(_MARKER))
    if marker and str(_MARKER) not in after:
        return lambda number: f"{before}{int(number)}{after}"
    return lambda number: url_for(endpoint, **{argument: number})
