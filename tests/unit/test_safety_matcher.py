"""services.safety.matcher with the built-in terms: every safety message alerts, in English
and Spanish, however it is typed; ordinary school messages never do."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.services.safety import matcher, terms
from portal.services.safety.matcher import Matcher, Term


def find(text: str) -> list[matcher.Match]:
    return matcher.find(text, terms.BUILT_IN_TERMS, terms.BENIGN_PHRASES)


ORDINARY = [
    "The bus was late again this morning, can someone call me back?",
    "My son has begun reading chapter books, thank you to his teacher!",
    "Is there practice today? He plays shooting guard on the JV team.",
    "The field trip to see the killer whales at the aquarium was amazing.",
    "This math homework is killing me, can we get an extension?",
    "Go Bulldogs! When is the next home game?",
    "She needs a butter knife for the cooking class and a water gun for field day.",
    "Please bring a hot glue gun for the art project.",
    "The school photo shoot is on Friday.",
    "We are attending the substance abuse prevention night.",
    "Can my daughter join the anti bullying club?",
    "Thanks for the bullying prevention assembly, it was great.",
    "I dropped my keys, they're dead batteries in the remote lol",
    "The lunch menu said pistachio pudding, is that nut free?",
    "We need to kill time before pickup, is the library open?",
    "Can he leave at 2:30 for a dentist appointment on 3/14?",
    "Grade 3 report cards for 2024 are wrong, my kid got a 1 in reading",
    "My account says my email is p@rent$ at example dot org",
    "Hit the road early, the traffic near the school is awful",
    "He got hit by a ball in PE, the nurse already called me, all fine.",
    "El autobús no pasó hoy, ¿pueden llamarme?",
    "Mi hija necesita una pistola de agua para el día de campo.",
    "Tenemos que matar el tiempo antes de la salida.",
    "¿A qué hora se acuesta la clase en la excursión? Mi hijo se acostó tarde.",
    "Me tocó a mí traer la merienda el viernes.",
    "La asamblea de prevención del acoso fue muy buena.",
    "Mi hijo quiere jugar al fútbol, ¿hay equipo?",
    "El armario de la clase está roto.",
    "¿Cuándo son las vacaciones de invierno?",
    "Gracias por la ayuda con la tarea de matemáticas.",
    "Mi hija se cortó el pelo, ¿hay foto de nuevo?",
    "Necesitamos un cuchillo de plástico para la fiesta.",
    "Armando is our neighbour and will pick him up today.",
    "Please update the armada of forms, there are too many.",
    "The weaponry unit in history class was interesting (medieval castles).",
]

DANGEROUS = [
    ("I think my daughter wants to kill herself", "suicide"),
    ("He said he wants to die and nobody would care", "suicide"),
    ("She has been talking about suicide", "suicide"),
    ("my son is SUICIDAL please help", "suicide"),
    ("i want to k1ll myself", "suicide"),
    ("my kid said she'd be better off dead", "suicide"),
    ("He is cutting himself, I found marks", "self_harm"),
    ("she has been hurting herself? no wait hurts herself every night", "self_harm"),
    ("there are self-harm videos on her phone", "self_harm"),
    ("A boy said he will shoot up the school tomorrow", "violence"),
    ("someone wrote they are going to kill everyone on friday", "violence"),
    ("There was a bomb threat on the group chat", "violence"),
    ("A student brought a gun to school", "weapons"),
    ("he had a knife in his backpack", "weapons"),
    ("I saw a kid with a handgun at the bus stop", "weapons"),
    ("Her uncle hits me she told her teacher", "abuse"),
    ("I think he is being abused at home", "abuse"),
    ("My daughter is being bullied every day at recess", "bullying"),
    ("there's cyberbullying on instagram about my son", "bullying"),
    ("the older kids bully him in the bathroom", "bullying"),
    ("Mi hija dice que se quiere morir", "suicide"),
    ("Mi hijo habla de suicidio", "suicide"),
    ("Tiene pensamientos suicidas", "suicide"),
    ("dijo que quiere quitarse la vida", "suicide"),
    ("Mi hija se corta los brazos, creo que quiere hacerse daño. Me dijo: me corto", "self_harm"),
    ("Un niño dijo que va a matar a todos", "violence"),
    ("Hubo una amenaza de muerte en el chat", "violence"),
    ("Un alumno llevó una pistola a la escuela", "weapons"),
    ("Tenía una navaja en la mochila", "weapons"),
    ("Creo que su padrastro le pega", "abuse"),
    ("Mi hijo sufre maltrato en casa de un familiar", "abuse"),
    ("Hay acoso en el recreo todos los días", "bullying"),
    ("A mi hija le hacen bullying", "bullying"),
    ("Los niños se burlan de mí dice mi hijo", "bullying"),
    ("SUICIDIO", "suicide"),
    ("ｇｕｎ at school", "weapons"),  # full-width letters
    ("he said he would kiiiill himself", "suicide"),
    ("a$$ault? no: he was ab*sed... abused!", "abuse"),
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_school_messages_do_not_alert(text):
    assert find(text) == []


@pytest.mark.parametrize("text, category", DANGEROUS)
def test_every_safety_message_alerts_with_its_category(text, category):
    assert category in {match.category for match in find(text)}


def test_a_term_is_reported_once_with_the_term_as_written():
    assert find("gun gun GUN") == [matcher.Match("weapons", "gun")]


def test_a_term_never_matches_inside_a_longer_word():
    assert find("begun, gunnar, shotgunned") == []


@given(st.text(max_size=300))
def test_any_text_is_read_without_error(text):
    assert isinstance(find(text), list)


@given(st.sampled_from(terms.BUILT_IN_TERMS), st.sampled_from([str.upper, str.title, str.lower]))
def test_every_built_in_term_alerts_in_any_case_inside_a_sentence(term, case):
    phrase = term.phrase.replace("*", "o")
    found = find(f"Hello. {case(phrase)}, said my child.")
    assert term.category in {match.category for match in found}, phrase


@pytest.mark.parametrize("accented, plain", [("suicidó", "suicido"), ("dañó", "dano"), ("MÍ", "mi")])
def test_accents_are_ignored(accented, plain):
    assert matcher.words(accented) == [plain]


def test_a_benign_phrase_does_not_hide_a_term_elsewhere_in_the_text():
    assert find("Bring a water gun for field day. Also a boy showed a gun at recess.") == [
        matcher.Match("weapons", "gun")
    ]


def test_a_star_after_too_few_letters_is_no_term():
    assert matcher.pattern_of("ab*") is None
    assert Matcher([Term("ab*", "abuse")]).matches("about abs") == []


def test_a_very_long_text_is_read_up_to_the_limit():
    text = "ordinary words " * 20_000 + "gun"
    assert find(text) == []  # beyond MAX_TEXT characters
    assert find("gun " + text) == [matcher.Match("weapons", "gun")]
