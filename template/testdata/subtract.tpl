{{ subtract 2 5 }} {{ 5 | subtract 2 }} {{ subtract 1.5 4 }} {{ subtract 5 2 }}
