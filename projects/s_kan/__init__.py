"""S-KAN (Activation Space Selectable KANs): single-basis KANs vs S-KAN vs a parameter-matched MLP."""
