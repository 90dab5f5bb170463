{{ maximum 2 5 }} {{ 5 | maximum 2 }} {{ maximum 1 2.5 }} {{ maximum 2.5 1 }} {{ maximum -1 -2 }}
