extension World: SimulatedAirframe {}
