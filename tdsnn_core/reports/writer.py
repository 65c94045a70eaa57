"""The report folder of ``tdsnn analyze``: metrics.json, summary.md, PNG figures, index.html."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from tdsnn_core.experiments.pipeline import ModelAnalysis
from tdsnn_core.reports.comparisons import model_differences
from tdsnn_core.reports.metrics import analysis_metrics, json_ready, metric_differences
from tdsnn_core.reports.summary import differences_markdown, summary_markdown, summary_rows

MAX_MODELS = 6


def write_report(
    results: list[ModelAnalysis], out_dir: str | Path, warnings: Sequence[str] = ()
) -> Path:
    """Write metrics.json, summary.md (the headline table), the figures and index.html for
    up to MAX_MODELS analyses (two get a table of every difference); ``warnings`` (e.g. models
    on different sheets) head every file. Returns the index path."""
    from tdsnn_core.reports import figures

    if not 1 <= len(results) <= MAX_MODELS:
        raise ValueError(f"a report shows 1 to {MAX_MODELS} models, got {len(results)}")
    if len({r.label for r in results}) < len(results):
        raise ValueError(
            f"the compared analyses need different labels, got {[r.label for r in results]}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = {r.label: analysis_metrics(r) for r in results}
    document: dict = {"warnings": list(warnings), "models": metrics}
    if len(results) == 2:
        document["differences"] = [
            {"metric": k, "first": x, "second": y, "difference": d}
            for k, x, y, d in metric_differences(*metrics.values())
        ]
    reference = results[0]
    document["paired_differences"] = {
        r.label: json_ready(model_differences(reference, r)) for r in results[1:]
    }
    (out / "metrics.json").write_text(json.dumps(document, indent=2))
    notes = "".join(f"> **Warning:** {w}\n\n" for w in warnings)
    paired = differences_markdown(reference.label, document["paired_differences"])
    (out / "summary.md").write_text(notes + summary_markdown(metrics) + paired)
    images = figures.draw_all(results, out)
    (out / "index.html").write_text(_index_html(results, metrics, document, images))
    return out / "index.html"


def _index_html(
    results: list[ModelAnalysis], metrics: dict, document: dict, images: dict[str, str]
) -> str:
    esc = html.escape
    title = " vs ".join(r.label for r in results)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>TDSNN analysis: "
        f"{esc(title)}</title><style>body{{font-family:sans-serif;max-width:1200px;"
        f"margin:auto}}img{{max-width:100%}}td,th{{padding:2px 8px;text-align:right}}"
        f"td:first-child{{text-align:left}}</style></head><body>",
        f"<h1>TDSNN analysis: {esc(title)}</h1>",
        "<p>All numbers are in <a href='metrics.json'>metrics.json</a>.</p>",
        *(f"<p style='color:#b00'><b>Warning:</b> {esc(w)}</p>" for w in document["warnings"]),
    ]
    for label, m in metrics.items():
        parts.append(f"<h3>{esc(label)}</h3><p>{esc(m['model']['checkpoint'])}</p>")
        if m.get("probes"):
            items = "".join(
                f"<li>{esc(k)} ({m['probes']['counts'][k]}): {esc(v)}</li>"
                for k, v in m["probes"]["descriptions"].items()
            )
            parts.append(f"<p>Category probes:</p><ul>{items}</ul>" if items else "")
        for part, message in m["errors"].items():
            parts.append(f"<p><b>{esc(part)} not computed:</b> {esc(message)}</p>")
    cells = "".join(f"<th>{esc(label)}</th>" for label in metrics)
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
        for row in summary_rows(metrics)
    )
    parts.append(f"<h2>Summary</h2><table><tr><th>metric</th>{cells}</tr>{rows}</table>")
    for label, paired in document["paired_differences"].items():
        rows = "".join(
            f"<tr><td>{esc(d['measure'])}</td><td>{d['difference']:+.2f}</td>"
            f"<td>[{d['low']:+.2f}, {d['high']:+.2f}]</td><td>{esc(d['method'])}</td>"
            f"<td>{'yes' if d['excludes_zero'] else 'no'}</td></tr>"
            for d in paired
        )
        parts.append(
            f"<h2>{esc(label)} minus {esc(results[0].label)}</h2><p>Paired: both models on the "
            "same images, tiles or probe sources, resampled together; a difference is one only "
            "when its 95 % interval excludes 0.</p><table><tr><th>measure</th>"
            "<th>difference</th><th>95 % interval</th><th>interval over</th>"
            f"<th>excludes 0</th></tr>{rows}</table>"
        )
    if "differences" in document:
        a, b = (esc(r.label) for r in results)
        rows = "".join(
            f"<tr><td>{esc(d['metric'])}</td><td>{d['first']:.4g}</td>"
            f"<td>{d['second']:.4g}</td><td>{d['difference']:+.4g}</td></tr>"
            for d in document["differences"]
        )
        parts.append(
            f"<h2>Differences</h2><p>Every scalar, without intervals (see the paired "
            "differences above for which are real).</p><table><tr><th>metric</th><th>{a}</th>"
            f"<th>{b}</th>"
            f"<th>{b} - {a}</th></tr>{rows}</table>"
        )
    for caption, name in images.items():
        parts.append(f"<h2>{esc(caption)}</h2><img src='{esc(name)}' alt='{esc(caption)}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
