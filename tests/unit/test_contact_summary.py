"""The contact summary, written in Python, reads as the template macro it replaced did,
word for word, in English and in Spanish, whatever the guardian typed."""

import re
from pathlib import Path

from flask import Flask
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.blueprints.contact_summary import contact_summary
from portal.models import Channel, ContactPreference, Topic, User
from portal.services.households.contacts import ContactDetails

# The macro as it was (portal/templates/macros/contact.html), called by Jinja: the reference.
MACRO = (Path(__file__).parent / "contact_summary_macro.html").read_text()

# Hostile text too: markup, quotes, ampersands, other scripts.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
PHONES = st.sampled_from([None, "+15555550123", "+525512345678", "+442079460958"])
# Each topic on none, some or all of the channels: "a", "a and b", "a, b and c".
CHOICES = st.lists(st.sets(st.sampled_from(list(Channel))), min_size=len(Topic), max_size=len(Topic)).map(
    lambda picked: frozenset(
        (topic, channel) for topic, channels in zip(Topic, picked, strict=True) for channel in channels
    )
)
HOURS = st.sampled_from([None, "21:00", "07:30"])


# Whitespace next to the start or end of a block (a list, an item, a paragraph) is not shown.
BLOCK_EDGE = re.compile(r" ?(</?(?:ul|li|p)\b[^>]*>) ?")


def words(html: str) -> str:
    """What a browser shows of the HTML: whitespace runs as one space, none at the edges
    of blocks, and a space beside inline markup (after "</strong>", say) kept."""
    return BLOCK_EDGE.sub(r"\1", re.sub(r"\s+", " ", html)).strip()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    email=TEXT,
    mobile=PHONES,
    voice=PHONES,
    channels=CHOICES,
    quiet_start=HOURS,
    quiet_end=HOURS,
    interpreter=TEXT,
    language=st.sampled_from(["en", "es"]),
)
def test_the_summary_reads_as_the_macro_did(
    app: Flask, email, mobile, voice, channels, quiet_start, quiet_end, interpreter, language
):  # type: ignore[no-untyped-def]
    # Every channel has somewhere to go, as the rules that saved the choices require.
    mobile = mobile or "+15555550100"
    details = ContactDetails(
        User(email=email),
        ContactPreference(
            mobile_phone=mobile,
            voice_phone=voice,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            interpreter_language=interpreter,
        ),
        channels,
    )
    with app.test_request_context(), force_locale(language):
        reference = app.jinja_env.from_string(MACRO).render(details=details)
        written = contact_summary(details)
    assert words(written) == words(reference)


def test_script_in_what_a_guardian_typed_is_shown_as_text(app: Flask) -> None:
    details = ContactDetails(
        User(email="<script>alert(1)</script>@example.org"),
        ContactPreference(mobile_phone="+15555550123", interpreter_language='"><img src=x onerror=alert(1)>'),
        frozenset({(Topic.EMERGENCY, Channel.EMAIL), (Topic.EMERGENCY, Channel.SMS), (Topic.EMERGENCY, Channel.VOICE)}),
    )
    with app.test_request_context():
        written = str(contact_summary(details))
    assert "<script>" not in written and "<img" not in written
    assert (
        "email to &lt;script&gt;alert(1)&lt;/script&gt;@example.org, text message to +1 555-555-0123 and voice call to"
        in written
    )
    assert "Interpreter needed: &#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in written
