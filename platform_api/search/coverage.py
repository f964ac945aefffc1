"""Service areas as H3 cells: which cells a provider's disk touches, and which cells a point falls in.

Resolution by radius. A disk is indexed at the resolution whose average hexagon edge is between a quarter
and two thirds of the radius (see `BANDS`): fine enough that the cells around the rim stay a modest fringe
beyond the disk (false candidates, dropped by the exact check), coarse enough that one area is about 10-45
cells (one coverage row each, so 100k providers are a few million small index rows). Seven bands span radii
from metres to 200 km; a query point therefore looks up its own cell at each of the seven resolutions —
seven index-served equality lookups whatever the number of providers — and the exact haversine distance
then keeps only providers whose disk really contains the point.

Completeness: a cell is indexed when its centre lies within radius + (the cell's own circumradius, +1 %) of
the disk's centre. Any point p of the disk lies in some cell X, and by the triangle inequality
dist(centre, centre(X)) <= dist(centre, p) + dist(p, centre(X)) <= radius + circumradius(X), so X is indexed.
Cells are walked outward from the centre cell (breadth-first), which works the same at the poles, across
the antimeridian and around H3's pentagons.
"""

import functools
import math
from collections import deque

import h3

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG); used for every distance in the product

# (largest radius in km, H3 resolution); average edge: res 9 ≈ 0.20 km … res 3 ≈ 69 km.
BANDS: tuple[tuple[float, int], ...] = (
    (0.8, 9),
    (2.1, 8),
    (5.6, 7),
    (15.0, 6),
    (40.0, 5),
    (105.0, 4),
    (200.0, 3),
)
RESOLUTIONS = tuple(res for _, res in BANDS)


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def unit_vector(lat: float, lng: float) -> tuple[float, float, float]:
    """The point as a unit vector (x towards 0°N 0°E, z towards the north pole)."""
    phi, lam = math.radians(lat), math.radians(lng)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


def cos_of_km(km: float) -> float:
    """The cosine of a great-circle distance (km, 0 … half the circumference) as an angle: a point q is
    within `km` of a centre c exactly when dot(unit_vector(q), unit_vector(c)) >= cos_of_km(km)."""
    return math.cos(min(km / EARTH_RADIUS_KM, math.pi))


EMPTY_BOX = {"south": 91.0, "north": -91.0, "west": 181.0, "east": -181.0}  # contains no point


def reach_box(lat: float, lng: float, km: float) -> dict[str, float]:
    """The latitude/longitude box (degrees) holding every point within `km` of (lat, lng), a little
    wider for rounding: south/north ± the angle, west/east ± the widest longitude of a spherical cap,
    asin(sin(d) / cos(lat)); the whole longitude range when the cap holds a pole or crosses the
    antimeridian (never a box that misses a point)."""
    angle = km / EARTH_RADIUS_KM
    margin = 1e-9
    south = max(-90.0, lat - math.degrees(angle) - margin)
    north = min(90.0, lat + math.degrees(angle) + margin)
    ratio = math.sin(min(angle, math.pi / 2)) / max(math.cos(math.radians(lat)), 1e-12)
    if north >= 90.0 or south <= -90.0 or ratio >= 1.0:
        return {"south": south, "north": north, "west": -180.0, "east": 180.0}
    spread = math.degrees(math.asin(ratio)) + margin
    if lng - spread < -180.0 or lng + spread > 180.0:
        return {"south": south, "north": north, "west": -180.0, "east": 180.0}
    return {"south": south, "north": north, "west": lng - spread, "east": lng + spread}


def resolution_for(radius_km: float) -> int:
    for limit, res in BANDS:
        if radius_km <= limit:
            return res
    raise ValueError(f"radius {radius_km} km is beyond the largest band ({BANDS[-1][0]} km)")


@functools.lru_cache(maxsize=1 << 16)
def _circumradius_km(cell: str) -> float:
    lat, lng = h3.cell_to_latlng(cell)
    return max(haversine_km(lat, lng, vlat, vlng) for vlat, vlng in h3.cell_to_boundary(cell))


def cover(lat: float, lng: float, radius_km: float) -> list[str]:
    """Every cell (at the radius' resolution) that any point of the disk lies in; sorted, deterministic."""
    start = h3.latlng_to_cell(lat, lng, resolution_for(radius_km))
    seen, found, queue = {start}, [start], deque([start])
    while queue:
        for neighbour in h3.grid_disk(queue.popleft(), 1):
            if neighbour in seen:
                continue
            seen.add(neighbour)
            clat, clng = h3.cell_to_latlng(neighbour)
            if haversine_km(lat, lng, clat, clng) <= radius_km + _circumradius_km(neighbour) * 1.01:
                found.append(neighbour)
                queue.append(neighbour)
    return sorted(found)


def cells_of(lat: float, lng: float) -> list[str]:
    """The point's cell at every indexed resolution: what a search looks up."""
    return [h3.latlng_to_cell(lat, lng, res) for res in RESOLUTIONS]
