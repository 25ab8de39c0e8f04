"""Writing small data files."""


def write_text(path, text):
    path.write_text(text)
    return path


IRIS_CSV = "sepal,petal,species\n1.0,2,setosa\n3,4.5,virginica\n5,6,setosa\n7,8,versicolor\n"


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
