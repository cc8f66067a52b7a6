"""Comment-to-code pairs for Java instruction tuning (seed 003, part 2).

Each task family turns a few drawn words into an instruction such as
`// A function that prints "Hola, Java!"` and the method that does it. Instructions mix
English and Spanish. The word list is split in two: words for training and the held-out
split, and words that never appear in training, for the unseen-words split (the seed's
reported failure: "palabras no vistas en el entrenamiento").
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import asdict, dataclass

# Nouns used as messages, field names, strings and parameter names; English and Spanish.
WORDS = (
    "hello world java code data file user name price amount index value number "
    "message result score level speed color animal house garden river city country "
    "student teacher book table window door engine server client order ticket invoice "
    "hola mundo datos archivo usuario nombre precio cantidad indice valor numero mensaje "
    "resultado puntaje nivel velocidad color animal casa jardin rio ciudad pais alumno "
    "profesor libro mesa ventana puerta motor servidor cliente pedido boleto factura "
    "planet ocean forest mountain bridge tower camera phone screen music movie travel "
    "planeta oceano bosque montana puente torre camara telefono pantalla musica pelicula viaje"
).split()

FAMILIES = ("print", "return_string", "return_number", "arithmetic", "getter", "setter", "array_loop", "string_op", "conditional")

INTRO = {
    "en": ["A function that", "A method that", "Write a method that", "Function that"],
    "es": ["Una función que", "Un método que", "Escribe un método que", "Función que"],
}


@dataclass(frozen=True)
class JavaTask:
    instruction: str  # the comment line, "// ..."
    code: str  # the method (getters and setters include their field)
    family: str

    def to_dict(self) -> dict:
        return asdict(self)


def camel(*parts: str) -> str:
    words = [w for part in parts for w in re.split(r"[^A-Za-z0-9]+", part) if w]
    return words[0][0].lower() + words[0][1:] + "".join(w[0].upper() + w[1:] for w in words[1:])


def method(signature: str, *body: str) -> str:
    lines = "\n".join(f"    {line}" for line in body)
    return f"{signature} {{\n{lines}\n}}"


ARITHMETIC = {
    # name: (english, spanish, java expression)
    "add": ("adds two integers", "suma dos enteros", "a + b"),
    "subtract": ("subtracts two integers", "resta dos enteros", "a - b"),
    "multiply": ("multiplies two integers", "multiplica dos enteros", "a * b"),
    "max": ("returns the larger of two integers", "devuelve el mayor de dos enteros", "Math.max(a, b)"),
    "min": ("returns the smaller of two integers", "devuelve el menor de dos enteros", "Math.min(a, b)"),
    "remainder": ("returns the remainder of dividing two integers", "devuelve el resto de dividir dos enteros", "a % b"),
}
ARRAY_LOOPS = {
    "sum": ("sums the elements of an int array", "suma los elementos de un arreglo de enteros",
            ["int total = 0;", "for (int x : values) {", "    total += x;", "}", "return total;"], "int"),
    "countEven": ("counts the even numbers in an int array", "cuenta los números pares de un arreglo",
                  ["int count = 0;", "for (int x : values) {", "    if (x % 2 == 0) {", "        count++;", "    }", "}", "return count;"], "int"),
    "findMax": ("finds the largest element of an int array", "encuentra el mayor elemento de un arreglo",
                ["int best = values[0];", "for (int x : values) {", "    if (x > best) {", "        best = x;", "    }", "}", "return best;"], "int"),
    "printAll": ("prints every element of an int array", "imprime cada elemento de un arreglo",
                 ["for (int x : values) {", "    System.out.println(x);", "}"], "void"),
}
STRING_OPS = {
    "toUpper": ("converts a string to upper case", "convierte un texto a mayúsculas", "String", "text.toUpperCase()"),
    "reverse": ("reverses a string", "invierte un texto", "String", "new StringBuilder(text).reverse().toString()"),
    "length": ("returns the length of a string", "devuelve la longitud de un texto", "int", "text.length()"),
    "isEmpty": ("checks if a string is empty", "comprueba si un texto está vacío", "boolean", "text.isEmpty()"),
}


def make_task(family: str, rng: random.Random, words: list[str]) -> JavaTask:
    lang = rng.choice(["en", "es"])
    intro = rng.choice(INTRO[lang])
    a, b = rng.sample(words, 2)
    if family == "print":
        message = f"{a.capitalize()}, {b.capitalize()}!"
        verb = "prints" if lang == "en" else "imprime"
        code = method(f"public void {camel('print', a, b)}()", f'System.out.println("{message}");')
        return JavaTask(f'// {intro} {verb} "{message}"', code, family)
    if family == "return_string":
        verb = "returns the string" if lang == "en" else "devuelve el texto"
        code = method(f"public String {camel('get', a, b)}()", f'return "{a} {b}";')
        return JavaTask(f'// {intro} {verb} "{a} {b}"', code, family)
    if family == "return_number":
        n = rng.randint(0, 999)
        verb = "returns the number" if lang == "en" else "devuelve el número"
        code = method(f"public int {camel('get', a, str(n))}()", f"return {n};")
        return JavaTask(f"// {intro} {verb} {n} for {a}" if lang == "en" else f"// {intro} {verb} {n} para {a}", code, family)
    if family == "arithmetic":
        name = rng.choice(sorted(ARITHMETIC))
        english, spanish, expression = ARITHMETIC[name]
        what = english if lang == "en" else spanish
        code = method(f"public int {camel(name, a)}(int a, int b)", f"return {expression};")
        return JavaTask(f"// {intro} {what} ({a})", code, family)
    if family in ("getter", "setter"):
        kind = rng.choice(["int", "double", "String", "boolean"])
        field = camel(a, b)
        declaration = f"private {kind} {field};"
        if family == "getter":
            prefix = "is" if kind == "boolean" else "get"
            body = method(f"public {kind} {camel(prefix, a, b)}()", f"return {field};")
            what = f"a getter for the {kind} field {field}" if lang == "en" else f"un getter para el campo {kind} {field}"
        else:
            body = method(f"public void {camel('set', a, b)}({kind} {field})", f"this.{field} = {field};")
            what = f"a setter for the {kind} field {field}" if lang == "en" else f"un setter para el campo {kind} {field}"
        return JavaTask(f"// {what[0].upper()}{what[1:]}", f"{declaration}\n\n{body}", family)
    if family == "array_loop":
        name = rng.choice(sorted(ARRAY_LOOPS))
        english, spanish, body, returns = ARRAY_LOOPS[name]
        what = english if lang == "en" else spanish
        code = method(f"public {returns} {camel(name, a)}(int[] values)", *body)
        return JavaTask(f"// {intro} {what} of {a}" if lang == "en" else f"// {intro} {what} de {a}", code, family)
    if family == "string_op":
        name = rng.choice(sorted(STRING_OPS))
        english, spanish, returns, expression = STRING_OPS[name]
        what = english if lang == "en" else spanish
        code = method(f"public {returns} {camel(name, a)}(String text)", f"return {expression};")
        return JavaTask(f"// {intro} {what} ({a})", code, family)
    if family == "conditional":
        limit = rng.randint(1, 100)
        what = f"checks if {a} is greater than {limit}" if lang == "en" else f"comprueba si {a} es mayor que {limit}"
        code = method(
            f"public boolean {camel('is', a, 'greater', 'than', str(limit))}(int {camel(a)})",
            f"if ({camel(a)} > {limit}) {{", "    return true;", "}", "return false;",
        )
        return JavaTask(f"// {intro} {what}", code, family)
    raise ValueError(f"unknown task family {family!r}; known: {', '.join(FAMILIES)}")


def _template_words() -> set[str]:
    """Words of the fixed instruction texts: they appear in training whatever is drawn."""
    fixed = [*INTRO["en"], *INTRO["es"], "prints imprime returns the string number devuelve el texto número for para of de"]
    for table in (ARITHMETIC, ARRAY_LOOPS, STRING_OPS):
        fixed += [part for entry in table.values() for part in entry[:2]]
    fixed += ["a getter setter for the field un para el campo checks if is greater than comprueba si es mayor que"]
    return set(re.findall(r"\w+", " ".join(fixed).lower()))


def split_words(unseen_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Draw the unseen words among those no fixed instruction text contains."""
    words = sorted(set(WORDS))
    candidates = sorted(set(words) - _template_words())
    unseen = sorted(random.Random(seed).sample(candidates, max(2, round(len(words) * unseen_fraction))))
    return [w for w in words if w not in unseen], unseen


def generate_tasks(settings: dict) -> dict[str, list[JavaTask]]:
    """Train pairs, a held-out test split (new instructions, known words) and an
    unseen-words test split (instructions built only from words never trained on).

    settings: train_pairs, test_pairs, unseen_word_fraction, families, seed.
    """
    rng = random.Random(settings["seed"])
    known, unseen = split_words(settings["unseen_word_fraction"], settings["seed"])
    families = settings.get("families") or list(FAMILIES)

    def draw(count: int, words: list[str], taken: set[str]) -> list[JavaTask]:
        tasks, attempts = [], 0
        while len(tasks) < count:
            attempts += 1
            if attempts > 50 * count + 1000:
                raise ValueError(f"cannot draw {count} distinct Java tasks from {len(words)} words")
            task = make_task(families[len(tasks) % len(families)], rng, words)
            if task.instruction not in taken:
                taken.add(task.instruction)
                tasks.append(task)
        return tasks

    taken: set[str] = set()
    train = draw(settings["train_pairs"], known, taken)
    test = draw(settings["test_pairs"], known, taken)
    test_unseen = draw(settings["test_pairs"], unseen, taken)
    return {"train": train, "test": test, "test_unseen_words": test_unseen}


def normalise(code: str) -> list[str]:
    """CONCODE-style exact match compares whitespace-split tokens."""
    return code.split()


def wrap_in_class(code: str, class_name: str) -> str:
    """A generated method (or field plus method) as a compilable compilation unit."""
    body = "\n".join(f"    {line}" if line else "" for line in code.splitlines())
    return f"import java.util.*;\n\npublic class {class_name} {{\n{body}\n}}\n"


# What score_generations reports at each level, weakest first, with exact match beside.
MEASURES = ("syntax_rate", "signature_rate", "functional_accuracy", "exact_match")
_LEVEL_FIELDS = {"syntax_rate": "compiles", "signature_rate": "signature", "functional_accuracy": "functional"}


def reason_counts(rows: list[dict]) -> dict[str, int]:
    """How many rows failed for each reason (`lmtune.java.checks.REASONS`), "ok" those that passed."""
    return dict(sorted(Counter(r["reason"] for r in rows).items()))


def _figures(rows: list[dict]) -> dict:
    figures = {"instructions": len(rows), "exact_match": sum(r["exact_match"] for r in rows) / len(rows)}
    for measure, field in _LEVEL_FIELDS.items():
        # One item not measured leaves the level unmeasured: a rate over the others would
        # count only the items that failed below it (no bubblewrap: what compiled never ran).
        checked = [r[field] for r in rows]
        figures[measure] = None if None in checked else sum(checked) / len(checked)
    figures["reasons"] = reason_counts(rows)
    return figures


def score_generations(records: list[dict]) -> dict:
    """Per test split, and per task family within it: exact match and the three levels
    (syntax_rate: compiles in a wrapper class; signature_rate: also defines the asked-for
    method; functional_accuracy: also behaves like the reference), with reason counts.

    A level is None ("not measured") when no JDK was found, or no sandbox could run what
    the model wrote (signature and functional), never a pass or a zero.
    """
    figures = {}
    for split in sorted({r["split"] for r in records}):
        rows = [r for r in records if r["split"] == split]
        families = sorted({r["family"] for r in rows})
        figures[split] = {
            **_figures(rows),
            "families": {family: _figures([r for r in rows if r["family"] == family]) for family in families},
        }
    return figures


def _cell(text: str) -> str:
    return "<code>" + text.replace("|", "\\|").replace("\n", "<br>") + "</code>" if text else "(empty)"


def examples_table(generations: dict[str, list[dict]], per_split: int) -> str:
    """A markdown table: the first few instructions of each split, every model's output (its first sample)."""
    variants = list(generations)
    first = generations[variants[0]]
    lines = ["# Java generation examples", ""]
    for split in sorted({r["split"] for r in first}):
        lines += [f"## {split}", "", "| instruction | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
        # A task's first sample stands for it (records without "sample" are one answer per task).
        indices = [i for i, r in enumerate(first) if r["split"] == split and r.get("sample", 0) == 0][:per_split]
        for i in indices:
            cells = []
            for variant in variants:
                record = generations[variant][i]
                mark = "exact" if record["exact_match"] else record["reason"]
                cells.append(f"{_cell(record['generated'])} ({mark})")
            lines.append(f"| {_cell(first[i]['instruction'])} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
