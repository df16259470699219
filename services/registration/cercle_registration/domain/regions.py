"""Québec's 17 administrative regions, with their official codes and names in French and English."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cercle_shared.errors import InvalidInput


@dataclass(frozen=True)
class Region:
    code: str
    name_fr: str
    name_en: str


QUEBEC_REGIONS: tuple[Region, ...] = (
    Region("01", "Bas-Saint-Laurent", "Bas-Saint-Laurent"),
    Region("02", "Saguenay–Lac-Saint-Jean", "Saguenay–Lac-Saint-Jean"),
    Region("03", "Capitale-Nationale", "Capitale-Nationale"),
    Region("04", "Mauricie", "Mauricie"),
    Region("05", "Estrie", "Eastern Townships"),
    Region("06", "Montréal", "Montreal"),
    Region("07", "Outaouais", "Outaouais"),
    Region("08", "Abitibi-Témiscamingue", "Abitibi-Témiscamingue"),
    Region("09", "Côte-Nord", "North Shore"),
    Region("10", "Nord-du-Québec", "Northern Quebec"),
    Region("11", "Gaspésie–Îles-de-la-Madeleine", "Gaspésie–Magdalen Islands"),
    Region("12", "Chaudière-Appalaches", "Chaudière-Appalaches"),
    Region("13", "Laval", "Laval"),
    Region("14", "Lanaudière", "Lanaudière"),
    Region("15", "Laurentides", "Laurentians"),
    Region("16", "Montérégie", "Montérégie"),
    Region("17", "Centre-du-Québec", "Centre-du-Québec"),
)


class RegionCatalog:
    def __init__(self, enabled: set[str] | None = None) -> None:
        known = {r.code: r for r in QUEBEC_REGIONS}
        if enabled:
            unknown = enabled - known.keys()
            if unknown:
                raise ValueError(f"unknown region codes: {sorted(unknown)}")
        self._regions = {c: r for c, r in known.items() if not enabled or c in enabled}

    def __contains__(self, code: object) -> bool:
        return code in self._regions

    def check(self, code: str | None, field: str = "region") -> None:
        """A region given as input must be one this deployment serves (None: no region)."""
        if code is not None and code not in self:
            raise InvalidInput(f"unknown or disabled region {code!r}", field=field)

    def check_all(self, codes: Iterable[str]) -> None:
        unknown = [code for code in codes if code not in self]
        if unknown:
            raise InvalidInput(f"unknown or disabled regions {unknown}", field="regions")

    def all(self) -> list[Region]:
        return list(self._regions.values())

    @classmethod
    def from_setting(cls, value: str) -> RegionCatalog:
        return cls({c.strip() for c in value.split(",") if c.strip()} or None)
