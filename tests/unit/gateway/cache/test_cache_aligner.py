"""The aligner: a semantic hit only when every difference between the two prompts is harmless.
Each refusal is shown both ways round; the issue's named failures are here by name."""

import pytest

from services.gateway.cache.aligner import Prompt, why_not

LONG_SCHEMA = (
    "You are a support agent for Acme. Use the tools below when they help; never invent order numbers. "
    "Tools: lookup_order(order_id) returns the order's status and its priority (low, normal or high); "
    "escalate(order_id, priority) sends the ticket to a human with that priority, where high priority "
    "means a reply within one hour and low priority within three days. Always confirm before you escalate. "
)


def reason(a: str, b: str) -> str | None:
    one, two = why_not(Prompt(a), Prompt(b)), why_not(Prompt(b), Prompt(a))
    assert one == two, (one, two)
    return one


@pytest.mark.parametrize("a,b,why", [
    # the named failures
    ("What is -1 + 1?", "What is 1 + 1?", "changed"),
    ("Set the ticket's flag to -1.", "Set the ticket's flag to 1.", "changed"),
    ("Mark the ticket as high-priority.", "Mark the ticket as low-priority.", "changed"),
    (LONG_SCHEMA + "Escalate order 1234 with high priority.", LONG_SCHEMA + "Escalate order 1234 with low priority.",
     "changed"),  # `low` is in the shared text already; what counts is that it differs there
    ('Write a reply to "ann.smith@example.com" about the refund.',
     'Write a reply to "ann.smith@exarnple.com" about the refund.', "verbatim"),
    ("Why does this fail?\n```python\nfor x in xs:\n    if x:\n        f(x)\n    g(x)\n```",
     "Why does this fail?\n```python\nfor x in xs:\n    if x:\n        f(x)\n        g(x)\n```", "verbatim"),
    # who does what to whom: a pronoun is a word, not filler (held-out pair 2689 was served wrongly)
    ("My balance shows -250.00 EUR. Does that mean I owe you money?",
     "My balance shows -250.00 EUR. Does that mean you owe me money?", "changed"),
    ("How do I reset my password?", "How do I reset your password?", "changed"),
    ("Should we tell them?", "Should they tell us?", "changed"),
    # what the old guards separated still refuses
    ("What is 2+2?", "What is 2+3?", "changed"),
    ("What is 2+2?", "What is 2*2?", "changed"),
    ("Give me three tips", "Give me 4 tips", "changed"),
    ("Translate 'hello' to French.", "Translate 'goodbye' to French.", "verbatim"),
    ("What is the capital of France?", "What is the capital of Germany?", "changed"),
    ("Write a hello world program in C.", "Write a hello world program in C++.", "changed"),
    ("how do i reverse a string in python", "how do i reverse a string in javascript", "changed"),
    ("Convert 5 kilograms to pounds.", "Convert 5 kilograms to ounces.", "changed"),
    ("List fruits that are red.", "List fruits that are not red.", "changed"),
    ("Why should I use an ORM?", "Why shouldn't I use an ORM?", "changed"),
    ("How do I enable dark mode?", "How do I disable dark mode?", "changed"),
    ("Sort this list in ascending order.", "Sort this list in descending order.", "changed"),
    ("Convert 50 miles to kilometers.", "Convert 50 kilometers to miles.", "changed"),
    ("Is a square a rectangle?", "Is a rectangle a square?", "order"),
    ("Subtract 3 from 10, then double it.", "From 10, subtract 3, then double it.", "order"),
    ("What is the boiling point of water?", "What is the boiling point of water at altitude?", "changed"),
    # structure the embedding cannot see
    ("Evaluate 3 + 4 * 2.", "Evaluate (3 + 4) * 2.", "changed"),
    ('Call search with {"query": "rust", "limit": 5}.', 'Call search with {"query": "rust", "limit": 50}.',
     "verbatim"),
    ("Put the cake in the oven.", "Put the cake on the oven.", "changed"),
    ("Python 3.10 release notes", "Python 3.1 release notes", "changed"),
    ("Extract the addresses: ana@example.org, sales@example.com", "Extract the addresses: ana@example.org, "
     "sales@exampel.com", "changed"),  # one letter out of place, outside quotes too
    ("Text: Charge the device for 2 hours.\n\nTranslate the text into German.",
     "Text: Charge the device for 120 minutes.\n\nTranslate the text into German.", "verbatim"),
])
def test_any_difference_not_known_to_be_harmless_refuses(a, b, why):
    assert reason(a, b) == why


@pytest.mark.parametrize("a,b", [
    ("What's the meaning of life?", "What is the meaning of life?"),
    ("how do i change the email address on my account", "How do I change the e-mail address on my account?"),
    ("Hi! Could you please tell me how to reset my password?", "How do I reset my password?"),
    ("How do I reverse a list in Python?", "What's the way to reverse a Python list?"),
    ("How do I add a user to a group in Linux?", "Linux: how to add a user to a group?"),
    ("In Python, how do I split a string on commas?", "How do I split a string on commas in Python?"),
    ("What is the capital of France?", "What's France's capital?"),
    ("Compare PostgreSQL and MySQL for analytics.", "Compare MySQL and PostgreSQL for analytics."),
    ("How do I enable 2FA?", "How can I turn on two-factor authentication?"),
    ("Set the time zone to UTC.", "Set the timezone to UTC."),
    ('Call search with {"query": "rust", "limit": 5}.', 'Call search with {"query":"rust","limit":5}.'),
    ("What does `yield` do in Python?", "What does yield do in Python?"),
    ("Solve for x: 2x + 3 = 11", "Solve 2x + 3 = 11 for x."),
    ("Extract the meeting time from the note.", "Extract the time of the meeting from the note."),
    (LONG_SCHEMA + "Escalate order 1234 with high priority, please.",
     LONG_SCHEMA + "Escalate order 1234 with high priority."),
])
def test_harmless_differences_are_allowed(a, b):
    assert reason(a, b) is None


def test_identical_prompts_and_verbatim_segments_in_order():
    assert reason("Translate 'a' then 'b'.", "Translate 'a' then 'b'.") is None
    assert reason("Translate 'a' then 'b'.", "Translate 'b' then 'a'.") == "verbatim"


@pytest.mark.parametrize("a,b", [
    ("What does 2+2 equal?", "What is 2+2?"),  # a paraphrase the cache cannot vouch for: recall, not precision
    ("Translate 'I love you' into Italian.", "How do you say 'I love you' in Italian?"),
])
def test_paraphrases_outside_the_lists_are_refused_by_design(a, b):
    assert reason(a, b) == "changed"
