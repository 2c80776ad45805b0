"""A WordPiece tokenizer (the `tokenizers` library) whose vocabulary is learned here from the
training pages' words: no hub download, and pieces that fit the run's languages and number formats.

The vocabulary is counted deterministically (the library's trainer breaks frequency ties in hash
order, so two trainings on the same words gave vocabularies 70 pieces apart): every character (as a
word start and as a `##` continuation), then the pieces (whole words, word prefixes, `##` inner
substrings of 2-9 characters) that save the most tokens, count x (length - 1), ties by the piece.
Tokenizing is the library's greedy longest-match WordPiece.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
PAD, UNK, CLS, SEP = range(4)
MAX_PIECE = 9


def train_tokenizer(texts: Iterable[str], vocab_size: int, lowercase: bool = False) -> Tokenizer:
    """`lowercase`: pieces of the lower-cased words, and the tokenizer lower-cases what it reads."""
    fold = str.lower if lowercase else (lambda text: text)
    words = Counter(fold(unicodedata.normalize("NFKC", w)) for text in texts for w in text.split())
    chars: set[str] = set()
    pieces: Counter = Counter()
    for word, n in words.items():
        chars.add(word[0])
        chars.update("##" + ch for ch in word[1:])
        if len(word) > 1:
            pieces[word] += n
        for k in range(2, min(len(word), MAX_PIECE + 1)):
            pieces[word[:k]] += n
        for i in range(1, len(word)):
            for j in range(i + 2, min(len(word), i + MAX_PIECE) + 1):
                pieces["##" + word[i:j]] += n
    base = SPECIAL + sorted(chars)
    saving = {p: n * (len(p.removeprefix("##")) - 1) for p, n in pieces.items() if n >= 2}
    ranked = sorted(saving, key=lambda p: (-saving[p], p))[: max(0, vocab_size - len(base))]
    vocab = {token: i for i, token in enumerate(base + ranked)}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=64))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]) if lowercase \
        else normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, path: Path) -> None:
    tokenizer.save(str(path))


def load_tokenizer(path: Path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


N_SHAPES = 7  # 0: [CLS]/[SEP]/padding


def word_shape(text: str) -> int:
    """1 digits (no letters), 2 UPPER, 3 Title, 4 lower, 5 mIxEd, 6 punctuation only."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1 if any(c.isdigit() for c in text) else 6
    if all(c.isupper() for c in letters):
        return 2
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return 3
    if all(c.islower() for c in letters):
        return 4
    return 5


def word_pieces(tokenizer: Tokenizer, words: list[str]) -> list[list[int]]:
    """Token ids of each word (at least one: an unknown word is [UNK])."""
    if not words:
        return []
    encodings = tokenizer.encode_batch([[w] for w in words], is_pretokenized=True, add_special_tokens=False)
    return [e.ids or [UNK] for e in encodings]
