{{ modulo 3 10 }} {{ 10 | modulo 4 }} {{ modulo 5 -7 }}
