"""Part 4: the secret finder's precision and recall on the labelled comments of bench/data/secret_comments.jsonl
(the desk's six languages, with hard negatives: order, tracking and invoice numbers, UUIDs, commit hashes in
URLs, IBANs, phone numbers, the keys' own kept ends, documentation example keys, masked passwords)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from app.hygiene.secret_finder import SecretFinder
from bench.report import Row, Section

LABELLED = Path(__file__).resolve().parent / "data" / "secret_comments.jsonl"
# The desk's own API keys in the labelled set, as an account sets OUTAGE_DESK_API_KEY_PATTERN.
DESK_KEY_PATTERN = r"\bodk_live_[A-Za-z0-9]{32}\b"
MIN_PRECISION = 0.98  # false positives are worse than misses: a redaction cannot be undone
MIN_RECALL = 0.90


@dataclass
class Score:
    comments: int = 0
    true_positives: int = 0
    false_positives: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    misses: list[tuple[str, str]] = field(default_factory=list)
    languages: Counter = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        found = self.true_positives + len(self.false_positives)
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + len(self.misses)
        return self.true_positives / expected if expected else 1.0


def score(path: Path = LABELLED, desk_key_pattern: str = DESK_KEY_PATTERN) -> Score:
    """Each labelled secret found with exactly its value is a hit; anything else found is a false positive."""
    finder = SecretFinder(desk_key_pattern)
    result = Score()
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        result.comments += 1
        result.languages[row["lang"]] += 1
        expected = {(s["kind"], s["value"]) for s in row["secrets"]}
        found = {(s.kind, s.value(row["text"])) for s in finder.find(row["text"])}
        # A secret found under another detector's name is still found and redacted.
        expected_values = {value for _kind, value in expected}
        hits = {value for _kind, value in found} & expected_values
        result.true_positives += len(hits)
        result.false_positives += [(kind, row["text"]) for kind, value in found if value not in expected_values]
        result.misses += [(kind, row["text"]) for kind, value in expected if value not in hits]
    return result


def redaction_rows() -> tuple[list, list[str]]:
    result = score()
    rows = [Section(f"Secrets in comments: {result.comments} labelled comments "
                    f"({', '.join(f'{lang} {n}' for lang, n in sorted(result.languages.items()))})"),
            Row("precision", f"{result.precision:.3f}", f">= {MIN_PRECISION}", result.precision >= MIN_PRECISION),
            Row("recall", f"{result.recall:.3f}", f">= {MIN_RECALL}", result.recall >= MIN_RECALL),
            Row("secrets found / labelled", f"{result.true_positives} / {result.true_positives + len(result.misses)}"),
            Row("false positives", str(len(result.false_positives)))]
    notes = [f"Missed ({kind}): {text[:90]}" for kind, text in result.misses[:10]]
    notes += [f"False positive ({kind}): {text[:90]}" for kind, text in result.false_positives[:10]]
    return rows, notes
