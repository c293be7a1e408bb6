"""The importer's result as text for a terminal (the CLI's `rackroom import`)."""

from __future__ import annotations

from jobs.imports.results import ImportResult


def report_lines(result: ImportResult, *, max_errors: int = 20, max_sample: int = 10) -> list[str]:
    """Summary, the first errors and the first changes, each on its own line."""
    lines = result.summary().splitlines()
    if result.encoding:
        lines.append(f"read as {result.encoding}, {result.delimiter}-separated")
    if result.errors:
        lines.append(f"errors ({len(result.errors):,}):")
        lines += [f"  {error.describe()}" for error in result.errors[:max_errors]]
        if len(result.errors) > max_errors:
            lines.append(f"  … and {len(result.errors) - max_errors:,} more (--json for all)")
    if result.warnings:
        lines.append(f"warnings ({len(result.warnings)}):")
        lines += [f"  {warning.describe()}" for warning in result.warnings]
    if result.sample and result.status in {"dry_run", "applied"}:
        verb = "changes" if result.status == "applied" else "would change"
        lines.append(f"{verb} (first {min(max_sample, len(result.sample))}):")
        for diff in result.sample[:max_sample]:
            variant = " / ".join(p for p in (diff.colour, diff.size) if p)
            lines.append(
                f"  row {diff.row}: {diff.title or diff.style} — {diff.sku} ({variant}) "
                f"@ {diff.warehouse}: "
                f"{diff.old_on_hand} → {diff.new_on_hand}"
            )
    if result.attribute_sample and result.status in {"dry_run", "applied"}:
        lines.append(f"product attributes ({result.counts.changed_products:,} products):")
        lines += [
            f"  row {d.row}: {d.product} — {d.field}: {d.old or '(none)'} → {d.new or '(none)'}"
            for d in result.attribute_sample[:max_sample]
        ]
    return lines
