from __future__ import annotations

import pytest

from detections.geo import distance_km, haversine_km, location_confidence, place_of
from detections.model import Location


def test_haversine_known_distances() -> None:
    assert haversine_km(47.61, -122.33, 51.51, -0.13) == pytest.approx(7720, rel=0.01)
    assert haversine_km(40.71, -74.01, 41.88, -87.63) == pytest.approx(1145, rel=0.01)
    assert haversine_km(10, 10, 10, 10) == 0
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015, rel=0.001)  # half the equator


def test_coordinates_are_high_confidence_and_centroids_low() -> None:
    assert place_of(47.6, -122.3, "US").confidence == "high"  # type: ignore[union-attr]
    fallback = place_of(None, None, "gb")
    assert fallback is not None and fallback.confidence == "low"
    assert place_of(None, None, "XX") is None
    assert place_of(0.0, 0.0, None) is None  # 0,0 is an export's "unknown"


def test_location_confidence_and_centroid_distance() -> None:
    assert location_confidence(Location(latitude=1, longitude=2)) == "high"
    assert location_confidence(Location(country="ZZ")) == "low"
    assert location_confidence(Location()) == "none"
    us, gb = place_of(None, None, "US"), place_of(None, None, "GB")
    assert us and gb and 6000 < distance_km(us, gb) < 8000
