"""The leaderboard as one static HTML page: no CDN, no request, its script inline.

Every column sorts on a click of its header (first ascending, again descending; empty cells
last either way); the protocol menu shows one protocol's entries (of every version). Ranked
entries and the ones ranked apart are two table bodies, so a sort never mixes them. The page
also reads its address's fragment, so a link can open it sorted and filtered:
``leaderboard.html#sort=worst%20case&order=desc&protocol=digits``.
Each cell keeps its entry's number in ``data-value`` (what it sorts by); the text shows it
with two decimals.
"""

from __future__ import annotations

from html import escape

from snnattack.benchmark.rows import DIRTY_MARK, DIRTY_NOTE, TITLE, Row, attacks, cells, shown

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:14px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f3f3f3;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
td.text{text-align:left}
tbody.apart tr{background:#fff4e0}
tbody.apart td:first-child::before{content:"⚠ "}
.scroll{overflow-x:auto;max-width:100%}
"""

SCRIPT = """
(() => {
  const table = document.getElementById('board');
  const heads = [...table.tHead.rows[0].cells];
  const menu = document.getElementById('protocol');
  const value = (row, i) => {
    const v = row.cells[i].dataset.value;
    return v === undefined || v === '' ? null : (isNaN(Number(v)) ? v : Number(v));
  };
  const compare = (a, b) => typeof a === 'number' && typeof b === 'number'
    ? a - b : String(a).localeCompare(String(b));
  function sort(i, order) {
    for (const body of table.tBodies) {
      const rows = [...body.rows];
      rows.sort((a, b) => {
        const x = value(a, i), y = value(b, i);
        if (x === null || y === null) return (x === null) - (y === null);
        return order === 'desc' ? compare(y, x) : compare(x, y);
      });
      rows.forEach(r => body.appendChild(r));
    }
    heads.forEach((h, j) => h.setAttribute('aria-sort',
      j === i ? (order === 'desc' ? 'descending' : 'ascending') : 'none'));
  }
  function filter(protocol) {
    menu.value = protocol;
    for (const body of table.tBodies)
      for (const row of body.rows)
        row.hidden = protocol !== 'all' && row.dataset.protocol !== protocol;
  }
  heads.forEach((h, i) => h.addEventListener('click', () =>
    sort(i, h.getAttribute('aria-sort') === 'ascending' ? 'desc' : 'asc')));
  menu.addEventListener('change', () => filter(menu.value));
  const wanted = new URLSearchParams(location.hash.slice(1));
  const column = heads.findIndex(h => h.dataset.key === wanted.get('sort'));
  if (column >= 0) sort(column, wanted.get('order') === 'desc' ? 'desc' : 'asc');
  if (wanted.has('protocol')) filter(wanted.get('protocol'));
})();
"""

# the dirty mark's look, on the mark itself: STYLE stays that of a page without one
MARKED = ' style="color:#b00;cursor:help"'

# left-aligned
TEXT = ("model", "paper", "protocol", "architecture", "encoding", "training", "apart")


def _row(row: Row, columns: list[str]) -> str:
    values = cells(row, columns)
    tds = []
    for key, value in values.items():
        data = "" if value is None else escape(str(value), quote=True)
        kind = ' class="text"' if key in TEXT else ""
        text = escape(shown(key, value, columns))
        if key == "model" and row.dirty:  # the mark, its meaning on hover (data-value: the name)
            text += f' <span class="dirty" title="{escape(DIRTY_NOTE)}"{MARKED}>{DIRTY_MARK}</span>'
        tds.append(f'<td{kind} data-value="{data}">{text}</td>')
    return f'<tr data-protocol="{escape(row.entry["protocol"])}">{"".join(tds)}</tr>'


def html(rows: list[Row]) -> str:
    """The page of the leaderboard ``rows`` (:func:`snnattack.benchmark.leaderboard.board`)."""
    columns = attacks(rows)
    head = list(cells(rows[0], columns)) if rows else ["model"]
    protocols = sorted({r.entry["protocol"] for r in rows})
    options = "".join(
        f'<option value="{escape(p)}">{escape(p)}</option>' for p in ["all", *protocols]
    )
    ths = "".join(f'<th data-key="{escape(c)}" aria-sort="none">{escape(c)}</th>' for c in head)
    ranked = "".join(_row(r, columns) for r in rows if not r.apart)
    apart = "".join(_row(r, columns) for r in rows if r.apart)
    legend = (  # only where a mark is: the page of clean entries is as it was
        f'<p class="legend"><span class="dirty"{MARKED}>{DIRTY_MARK}</span> beside a model: '
        f"{escape(DIRTY_NOTE)}.</p>\n"
        if any(r.dirty for r in rows)
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title><style>{STYLE}</style></head>
<body>
<h1>{TITLE}</h1>
<p>Robust accuracy (%) under fixed protocols (docs/benchmark.md). <em>worst case</em>: the
lowest over the protocol's attacks; <em>reported</em>: the lowest the paper reported;
<em>gap</em>: reported minus worst case. Rows marked ⚠ are ranked apart (the column
<em>apart</em> says why: masking checks fired, an older protocol version, a protocol file other
than the released one, settings overridden, their own data, or weights already ranked). Click
a header to sort.</p>
{legend}<p><label>protocol <select id="protocol">{options}</select></label></p>
<div class="scroll"><table id="board"><thead><tr>{ths}</tr></thead>
<tbody class="ranked">{ranked}</tbody><tbody class="apart">{apart}</tbody></table></div>
<script>{SCRIPT}</script>
</body></html>
"""
