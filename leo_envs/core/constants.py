"""Physical constants, SI units. SGP4 works on WGS72, so the Earth model of orbits and
line-of-sight geometry is WGS72; geodetic coordinates of ground points use WGS84."""

SPEED_OF_LIGHT_M_S = 299_792_458.0
BOLTZMANN_J_K = 1.380649e-23

EARTH_RADIUS_M = 6_378_135.0  # WGS72 equatorial radius, the one sgp4 uses
EARTH_MU_M3_S2 = 398_600.8e9  # WGS72 gravitational parameter

WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)

GRAZING_ALTITUDE_M = 80_000.0  # an ISL must clear the Earth plus this much atmosphere
SECONDS_PER_DAY = 86_400.0
SGP4_EPOCH_JD = 2_433_281.5  # sgp4init counts epoch days from 1949 December 31 00:00 UT
