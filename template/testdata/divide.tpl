{{ divide 2 10 }} {{ 10 | divide 4 }} {{ divide 4 10.0 }} {{ divide 4.0 10 }}
