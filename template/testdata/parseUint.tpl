{{ parseUint "42" }} {{ parseUint "" }} {{ parseUint "18446744073709551615" }}
