"""``python -m services.admin category-report [--days N]``: where the keywords chose
wrong, and the words to add, as printed.

Routing counts (``GET /api/v1/category-report``, asked by ``service_api``): for each
category the keywords chose (``none`` when they chose none), how many tickets, and how
many of them the liaison office then changed when it dispatched, and to what; then, for
each category the office changed tickets to, the words those tickets share most that
are not yet among its keywords: the list of keywords to add to the directory; with a
learned model, the model's confusions: for each category it found best, how many tickets
and which category the others have now. This module only lays the answer out.
"""


def lines(answer):
    """The report of routing's answer, as printed."""
    days = answer["days"]
    out = [f"categories the keywords chose in the last {days} days, and the office's changes:",
           f"{'chosen':<24} {'tickets':>8} {'changed':>8}  changed to"]
    for row in answer["categories"]:
        total = row["changed"]
        share = f" ({total / row['tickets']:.0%})" if row["tickets"] else ""
        targets = ", ".join(f"{target['category']} {target['tickets']}" for target in row["changed_to"])
        out.append(f"{row['chosen']:<24} {row['tickets']:>8} {total:>8}{share}  {targets}")
    out.append("keywords to add (words shared by the tickets the office moved there):")
    for entry in answer["keywords_to_add"]:
        found = ", ".join(f"{word['word']} ({word['tickets']} tickets)" for word in entry["words"]) \
            or "none shared twice"
        out.append(f"  {entry['category']}: {found}")
    confusions = answer.get("model_confusions") or []
    if confusions:
        out.append("the model's best category against the ticket's category now:")
        out.append(f"{'model':<24} {'tickets':>8} {'agreed':>8}  confused with")
        for row in confusions:
            others = ", ".join(f"{other['category']} {other['tickets']}" for other in row["confused_with"])
            out.append(f"{row['model']:<24} {row['tickets']:>8} {row['agreed']:>8}  {others}".rstrip())
    return out
