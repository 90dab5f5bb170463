{{ multiply 2 5 }} {{ 5 | multiply 2 }} {{ multiply 1.5 4 }} {{ multiply -2 3 }}
