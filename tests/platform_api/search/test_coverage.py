"""The H3 cover of a disk contains the cell of every point of the disk: anywhere on the globe."""

import h3
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_api.search.coverage import BANDS, cells_of, cover, haversine_km, resolution_for
from tests.platform_api.search.geo import destination


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(min_value=-89.5, max_value=89.5),
    lng=st.floats(min_value=-180, max_value=180),
    radius=st.floats(min_value=0.2, max_value=200),
    bearing=st.floats(min_value=0, max_value=360),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_every_point_of_the_disk_lies_in_a_covered_cell(
    lat: float, lng: float, radius: float, bearing: float, fraction: float
) -> None:
    cells = set(cover(lat, lng, radius))
    plat, plng = destination(lat, lng, bearing, radius * fraction)
    assert h3.latlng_to_cell(plat, plng, resolution_for(radius)) in cells


def test_the_rim_at_a_pole_and_across_the_antimeridian_is_covered() -> None:
    for lat, lng, radius in (
        (89.0, 0.0, 150.0),
        (-17.0, 179.98, 25.0),
        (78.2, 15.6, 30.0),
        (0.0, -180.0, 3.0),
    ):
        cells = set(cover(lat, lng, radius))
        for bearing in range(0, 360, 5):
            plat, plng = destination(lat, lng, bearing, radius)
            assert abs(haversine_km(lat, lng, plat, plng) - radius) < 1e-6
            assert h3.latlng_to_cell(plat, plng, resolution_for(radius)) in cells, (lat, lng, bearing)


def test_bands_keep_areas_small_and_queries_fixed() -> None:
    for limit, _ in BANDS:
        assert 8 <= len(cover(51.5, -0.1, limit)) <= 45
    assert len(cells_of(51.5, -0.1)) == len(BANDS)
