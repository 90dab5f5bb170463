{{ parseFloat "1.5" }} {{ parseFloat "" }} {{ parseFloat "1e3" }} {{ parseFloat "-0.25" }}
