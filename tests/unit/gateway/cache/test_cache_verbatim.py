"""Verbatim segments: what must match character for character."""

from services.gateway.cache.verbatim import split_verbatim


def test_quotes_code_and_data_are_segments_with_placeholders():
    free, segs = split_verbatim('Reply to "ann@example.com" with `git stash pop` and {"a": [1, 2]} ok')
    assert segs == ["ann@example.com", "git stash pop", '{"a":[1,2]}']
    assert "\x000\x00" in free and "\x002\x00" in free and "example" not in free


def test_apostrophes_are_not_quotes():
    assert split_verbatim("don't touch the users' files")[1] == []
    assert split_verbatim("Translate 'I don't know' to French")[1] == ["I don't know"]


def test_fenced_and_indented_code_keep_their_whitespace():
    a = split_verbatim("Fix:\n```\nif x:\n    y()\n```")[1]
    b = split_verbatim("Fix:\n```\nif x:\n  y()\n```")[1]
    assert a != b
    assert split_verbatim("Run this\n    make all\nplease")[1] == ["    make all"]


def test_json_is_compared_as_data_other_brackets_as_written():
    assert split_verbatim('{"a": 1, "b": 2}')[1] == split_verbatim('{"a":1,"b":2}')[1]
    assert split_verbatim('{"a": 1, "b": 2}')[1] != split_verbatim('{"b": 2, "a": 1}')[1]
    assert split_verbatim("[x ,y]")[1] == ["[x ,y]"]


def test_text_after_a_data_label_is_verbatim_up_to_a_blank_line():
    free, segs = split_verbatim("Translate into German.\nText: Charge it for 2 hours.\nKeep units.\n\nThanks")
    assert segs == ["Charge it for 2 hours.\nKeep units."] and "Thanks" in free


def test_a_single_word_in_backticks_is_a_word():
    assert split_verbatim("What does `yield` do?")[1] == []
