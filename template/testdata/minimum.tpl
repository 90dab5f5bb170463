{{ minimum 2 5 }} {{ 5 | minimum 2 }} {{ minimum 1 2.5 }} {{ minimum 2.5 1 }} {{ minimum -1 -2 }}
