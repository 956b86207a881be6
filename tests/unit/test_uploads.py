import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.services.errors import InvalidInput
from portal.services.uploads import read_text_upload


def read(data: bytes, filename: str = "export.csv", max_bytes: int = 1000) -> str:
    return read_text_upload(data, filename, extensions=(".csv",), max_bytes=max_bytes)


def test_utf8_with_a_byte_order_mark_is_read_without_it():
    assert read("\ufeffname\nGarcía\n".encode()) == "name\nGarcía\n"


def test_windows_1252_text_is_read():
    assert read("name\nGarc\xeda\n".encode("cp1252")) == "name\nGarcía\n"


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "export.csv", "empty"),
        (b"x" * 1001, "export.csv", "too large"),
        (b"a,b\n", "export.exe", "ending in"),
        (b"PK\x03\x04spreadsheet", "export.csv", "not plain text"),
        (b"%PDF-1.7", "export.csv", "not plain text"),
        (b"a,b\x00c\n", "export.csv", "not plain text"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_message(data, filename, message):
    with pytest.raises(InvalidInput) as refused:
        read(data, filename)
    assert refused.value.field == "file"
    assert message in str(refused.value.message)


@given(st.binary(max_size=2000), st.text(max_size=40))
def test_any_bytes_either_read_as_text_or_are_refused_cleanly(data, filename):
    try:
        text = read(data, filename + ".csv")
    except InvalidInput:
        return
    assert isinstance(text, str)
    assert "\x00" not in text
