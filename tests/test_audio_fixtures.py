from tests.audio_fixtures import word_agreement


def test_word_agreement():
    assert word_agreement("a b c d", "a b c d") == 1.0
    assert word_agreement("a b c d", "x b c d") == 0.75
    assert word_agreement("a b c d", "a b") == 0.5
    assert word_agreement("", "") == 1.0
    assert word_agreement("a", "") == 0.0
