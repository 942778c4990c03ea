"""The physics both environments share: constellations and orbits (sgp4), ISL topology, link budget,
compute and power, sun and shadow, failures. Knows nothing of reinforcement learning."""

from .compute import PowerModel, PowerState, Processor, compute_delay_s, fifo_finish_times
from .constants import EARTH_RADIUS_M, GRAZING_ALTITUDE_M, SPEED_OF_LIGHT_M_S
from .constellation import DEFAULT_EPOCH, Constellation, OrbitElements, Propagation
from .faults import FaultEvent, FaultModel, FaultTimeline
from .frames import ecef_to_geodetic, geodetic_to_ecef, gmst_rad, teme_to_ecef
from .layout import Layout, LayoutTolerances, infer_layout
from .link_budget import (
    GROUND_LINK,
    OpticalLink,
    RadioLink,
    db_to_linear,
    free_space_path_loss,
    linear_to_db,
    propagation_delay_s,
    shannon_capacity_bps,
    snr_linear,
    transmission_delay_s,
)
from .network import GroundStation, Network, Snapshot, elevation_at_range_deg, slant_range_m
from .presets import CONSTELLATION_PRESETS, SHELL_PRESETS, WalkerPreset
from .sun import sun_position_eci, sunlit
from .topology import grazing_limit_m, plus_grid, plus_grid_pairs, segment_clearance_m

__all__ = [
    "CONSTELLATION_PRESETS",
    "Constellation",
    "DEFAULT_EPOCH",
    "EARTH_RADIUS_M",
    "FaultEvent",
    "FaultModel",
    "FaultTimeline",
    "GRAZING_ALTITUDE_M",
    "GROUND_LINK",
    "GroundStation",
    "Layout",
    "LayoutTolerances",
    "Network",
    "OpticalLink",
    "OrbitElements",
    "PowerModel",
    "PowerState",
    "Processor",
    "Propagation",
    "RadioLink",
    "SHELL_PRESETS",
    "SPEED_OF_LIGHT_M_S",
    "Snapshot",
    "WalkerPreset",
    "compute_delay_s",
    "db_to_linear",
    "ecef_to_geodetic",
    "elevation_at_range_deg",
    "fifo_finish_times",
    "free_space_path_loss",
    "geodetic_to_ecef",
    "gmst_rad",
    "grazing_limit_m",
    "infer_layout",
    "linear_to_db",
    "plus_grid",
    "plus_grid_pairs",
    "propagation_delay_s",
    "segment_clearance_m",
    "shannon_capacity_bps",
    "slant_range_m",
    "snr_linear",
    "sun_position_eci",
    "sunlit",
    "teme_to_ecef",
    "transmission_delay_s",
]
