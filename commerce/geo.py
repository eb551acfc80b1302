"""A shopper's time zone from their address, for quiet hours and send-time rules.

``timezone_for`` tries, in order:
1. the coordinates (``tzfpy``: the timezone-boundary-builder polygons compiled into a 3 MB wheel,
   loaded once per process on the first lookup, then well under a microsecond per point);
2. the province where the country has several clocks (``PROVINCE_ZONES``: the US, Canada,
   Australia, Brazil, Spain's and Portugal's islands), else the country's main clock
   (``MAIN_ZONES``), else the country's zone from IANA's ``zone.tab`` as the ``tzdata`` package
   ships it, when all its zones keep the same clock (Israel, Iran, Germany, India...);
3. otherwise ``""``: unknown, and the caller falls back to the shop's zone.
"""

import functools
import importlib.resources
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzfpy

# The zone most of each province's people live in (where a province spans two, the larger).
_US = {
    "America/New_York": "CT DC DE FL GA MA MD ME NC NH NJ NY OH PA RI SC VA VT WV",
    "America/Detroit": "MI",
    "America/Indiana/Indianapolis": "IN",
    "America/Kentucky/Louisville": "KY",
    "America/Chicago": "AL AR IA IL KS LA MN MO MS ND NE OK SD TN TX WI",
    "America/Denver": "CO MT NM UT WY",
    "America/Boise": "ID",
    "America/Phoenix": "AZ",
    "America/Los_Angeles": "CA NV OR WA",
    "America/Anchorage": "AK",
    "Pacific/Honolulu": "HI",
    "America/Puerto_Rico": "PR",
    "America/St_Thomas": "VI",
    "Pacific/Guam": "GU",
    "Pacific/Pago_Pago": "AS",
    "Pacific/Saipan": "MP",
}
_CA = {
    "America/St_Johns": "NL",
    "America/Halifax": "NS PE",
    "America/Moncton": "NB",
    "America/Toronto": "ON QC",
    "America/Iqaluit": "NU",
    "America/Winnipeg": "MB",
    "America/Regina": "SK",
    "America/Edmonton": "AB NT",
    "America/Vancouver": "BC",
    "America/Whitehorse": "YT",
}
_AU = {
    "Australia/Sydney": "NSW ACT",
    "Australia/Melbourne": "VIC",
    "Australia/Brisbane": "QLD",
    "Australia/Adelaide": "SA",
    "Australia/Darwin": "NT",
    "Australia/Perth": "WA",
    "Australia/Hobart": "TAS",
}
_BR = {
    "America/Sao_Paulo": "DF ES GO MG PR RJ RS SC SP",
    "America/Bahia": "BA",
    "America/Fortaleza": "CE MA PB PI RN",
    "America/Recife": "PE",
    "America/Maceio": "AL SE",
    "America/Araguaina": "TO",
    "America/Belem": "AP PA",
    "America/Cuiaba": "MT",
    "America/Campo_Grande": "MS",
    "America/Porto_Velho": "RO",
    "America/Manaus": "AM",
    "America/Boa_Vista": "RR",
    "America/Rio_Branco": "AC",
}
_ES = {"Atlantic/Canary": "GC TF"}
_PT = {"Atlantic/Azores": "20", "Atlantic/Madeira": "30"}
PROVINCE_ZONES: dict[str, dict[str, str]] = {
    country: {code: zone for zone, codes in table.items() for code in codes.split()}
    for country, table in (("US", _US), ("CA", _CA), ("AU", _AU), ("BR", _BR), ("ES", _ES),
                           ("PT", _PT))
}
#: Countries with several clocks where one of them is everybody's but a few islands' or a
#: region's (over 95 % of the people): that one, when the province does not say otherwise.
MAIN_ZONES: dict[str, str] = {
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "NZ": "Pacific/Auckland",
    "PT": "Europe/Lisbon",
    "UA": "Europe/Kyiv",
}


def zone_valid(name: str) -> bool:
    """Is ``name`` a time zone this machine knows (an IANA name such as ``Asia/Tehran``)?"""
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@functools.cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """Country code -> its zones, from ``zone.tab`` (``tzdata``)."""
    text = (importlib.resources.files("tzdata.zoneinfo") / "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, _, name = line.split("\t")[:3]
        zones.setdefault(code, []).append(name)
    return {code: tuple(names) for code, names in zones.items()}


@functools.cache
def _one_clock_zone(country_code: str) -> str:
    """The country's zone when all its zones keep the same clock (in winter and in summer)."""
    zones = _country_zones().get(country_code, ())
    if not zones:
        return ""
    year = datetime.now(UTC).year
    instants = (datetime(year, 1, 15, 12, tzinfo=UTC), datetime(year, 7, 15, 12, tzinfo=UTC))
    clocks = {tuple(moment.astimezone(ZoneInfo(name)).utcoffset() for moment in instants)
              for name in zones}
    return zones[0] if len(clocks) == 1 else ""


def _from_coordinates(latitude: float | None, longitude: float | None) -> str:
    if latitude is None or longitude is None:
        return ""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return ""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude, longitude) == (0, 0):
        return ""  # out of range, or "null island": a failed geocode, not an address
    name = tzfpy.get_tz(longitude, latitude)
    return name if zone_valid(name) else ""


def timezone_for(
    *,
    country_code: str = "",
    province_code: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
) -> str:
    """The IANA zone of an address, ``""`` when it cannot be told."""
    country = (country_code or "").strip().upper()
    province = (province_code or "").strip().upper()
    if country and province.startswith(f"{country}-"):  # ISO 3166-2 form, e.g. "US-CA"
        province = province[len(country) + 1:]
    by_coordinates = _from_coordinates(latitude, longitude)
    if by_coordinates and not by_coordinates.startswith("Etc/"):
        return by_coordinates
    by_place = (PROVINCE_ZONES.get(country, {}).get(province) or MAIN_ZONES.get(country)
                or _one_clock_zone(country))
    return by_place or by_coordinates  # a nautical zone (Etc/GMT+2) only when nothing else
