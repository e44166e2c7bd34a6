"""The HTML reports' building blocks: escaped text, tables, and the page shell (inline CSS only, no external
fonts, scripts or images).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from string import Template
from typing import Any

import pandas as pd

PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0;
         color: #1d2733; background: #f4f6f9; line-height: 1.45; }
  header { background: #123a5a; color: #fff; padding: 24px 40px; }
  header h1 { margin: 0 0 6px 0; font-size: 26px; }
  header p { margin: 0; opacity: 0.85; }
  nav { background: #fff; border-bottom: 1px solid #dde3ea; padding: 8px 40px; font-size: 14px; }
  nav a { margin-right: 18px; color: #123a5a; text-decoration: none; }
  main { padding: 10px 40px 40px 40px; max-width: 1300px; }
  section { background: #fff; border-radius: 8px; padding: 18px 24px; margin: 20px 0;
            box-shadow: 0 1px 3px rgba(0,0,0,0.08); }
  h2 { color: #123a5a; margin-top: 0; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 16px; }
  .card { border: 1px solid #dde3ea; border-left: 6px solid var(--accent); border-radius: 6px;
          padding: 12px 16px; background: #fbfcfd; }
  .card h3 { margin: 0 0 4px 0; font-size: 18px; }
  .share { font-size: 13px; color: #55606e; margin-bottom: 8px; }
  .note { font-size: 12px; color: #55606e; }
  .badge { display: inline-block; font-size: 11px; padding: 1px 7px; border-radius: 10px;
           background: #fde2b8; color: #7a4b00; margin-left: 6px; vertical-align: middle; }
  .badge.grey { background: #e4e8ee; color: #44505e; }
  .card h4 { margin: 10px 0 2px 0; font-size: 13px; text-transform: uppercase; color: #55606e; }
  .card ul { margin: 2px 0; padding-left: 18px; font-size: 14px; }
  .card p { margin: 2px 0; font-size: 14px; }
  .risk { background: #fff4f2; border-radius: 4px; padding: 4px 8px; font-size: 13px; }
  table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
  th, td { border-bottom: 1px solid #e5e9ef; padding: 4px 10px; text-align: left; vertical-align: top; }
  th { background: #f0f3f7; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  figure { margin: 14px 0; }
  figure img { max-width: 100%; height: auto; border: 1px solid #eef1f5; }
  figcaption { font-size: 13px; color: #55606e; }
  details summary { cursor: pointer; color: #123a5a; }
  footer { font-size: 12px; color: #6b7684; padding: 0 40px 30px 40px; }
</style>
</head>
<body>
<header>
  <h1>$title</h1>
  <p>$subtitle</p>
</header>
<nav>$nav</nav>
<main>
$body
</main>
<footer>$footer</footer>
</body>
</html>
"""
)


def h(value: Any) -> str:
    """HTML-escaped text of any value (every data or user string goes through here)."""
    return html.escape(str(value), quote=True)


def cell_number(value: Any) -> str:
    """A metric for a table cell: thousands separators, fewer decimals for bigger numbers."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return h(value)
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 10 else f"{value:,.3f}"


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int] = frozenset()) -> str:
    """An HTML table; cells are escaped, numeric columns right-aligned."""
    head = "".join(f"<th>{h(col)}</th>" for col in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell_number(cell)}</td>' if i in numeric else f"<td>{h(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
