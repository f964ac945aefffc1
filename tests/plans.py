"""Asserting a query is index-served, on the embedded engine and on MongoDB alike."""

from typing import Any

from beanie import Document
from beanie.odm.queries.find import FindMany


async def explain(find: FindMany[Any], model: type[Document]) -> dict[str, Any]:
    cursor = model.get_pymongo_collection().find(find.get_filter_query())
    if find.sort_expressions:
        cursor = cursor.sort(find.sort_expressions)
    result: dict[str, Any] = await cursor.explain()
    return result


def index_served(plan: dict[str, Any]) -> bool:
    winning = plan["queryPlanner"]["winningPlan"]
    if isinstance(winning, list):  # nx-27017 reports SQLite's plan rows
        details = [str(step.get("detail", "")) for step in winning]
        return bool(details) and details[0].startswith("SEARCH") and "USING INDEX" in details[0]
    text = str(winning)  # MongoDB: an IXSCAN stage and no collection scan
    return "IXSCAN" in text and "COLLSCAN" not in text
