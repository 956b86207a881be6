"""A guardian's contact choices in plain words, topic by topic, for the family's own
contact page and the staff pages about a household.

Written here rather than as a template macro: a guardian's summary is some twenty
pieces (a topic, each channel that reaches it, where), and the staff request page shows
one for every guardian of the family; as macros they cost more than the rest of the
page's sidebar together."""

from markupsafe import Markup

from portal.catalogs import gettext
from portal.labels import label
from portal.models import Channel, Topic
from portal.services.households.contacts import ContactDetails
from portal.services.households.phones import display_phone

ITEM = Markup("<li><strong>%s:</strong> %s</li>")
LIST = Markup('<ul class="summary-list">%s</ul>')
INTERPRETER = Markup("\n<p>%s</p>")


def _channel_to(channel: Channel, address: str) -> str:
    if channel == Channel.EMAIL:
        return gettext("email to %(address)s", address=address)
    if channel == Channel.SMS:
        return gettext("text message to %(number)s", number=display_phone(address))
    return gettext("voice call to %(number)s", number=display_phone(address))


def _in_words(pieces: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(pieces) == 1:
        return pieces[0]
    return ", ".join(pieces[:-1]) + gettext(" and ") + pieces[-1]


def contact_summary(details: ContactDetails) -> Markup:
    """A list of every topic with the channels that reach it ("Emergency: email to …
    and text message to …"), the quiet hours where they hold a topic back, and the
    interpreter's language when one is needed. A topic's plain text is put together
    first and escaped as a whole."""
    preference = details.preference
    quiet = (
        " " + gettext("(not between %(start)s and %(end)s)", start=preference.quiet_start, end=preference.quiet_end)
        if preference.quiet_start
        else ""
    )
    items = []
    for topic, reaches in details.summary():
        if reaches:
            text = _in_words([_channel_to(channel, address) for channel, address in reaches])
            if topic != Topic.EMERGENCY:
                text += quiet
        else:
            text = gettext("nothing")
        items.append(ITEM % (label(topic), text))  # Markup's % escapes what it puts in
    summary = LIST % Markup("").join(items)
    if preference.interpreter_language:
        summary += INTERPRETER % gettext("Interpreter needed: %(language)s", language=preference.interpreter_language)
    return summary
