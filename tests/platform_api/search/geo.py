"""Exact positions for tests: the point at a distance and bearing (same sphere as the product's distances)."""

import math

from platform_api.search.coverage import EARTH_RADIUS_KM


def destination(lat: float, lng: float, bearing_deg: float, distance_km: float) -> tuple[float, float]:
    d, theta = distance_km / EARTH_RADIUS_KM, math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lng)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(theta))
    l2 = l1 + math.atan2(
        math.sin(theta) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
