"""taojin's n-gram models against KenLM's own scorer (the `kenlm` module from PyPI).

One ARPA file, two scorers: every test sentence must get the same log10 probability
within 1e-4 — on models taojin trained (full and pruned, orders 3 and 5) and on a
hand-written ARPA shaped like KenLM's output with the odd corners (no `<unk>`, missing
back-offs, contexts that exist only as lower orders). Sentences mix seen words, unseen
words and Chinese characters, so back-off chains and `<unk>` are exercised.
"""

import json
import random
import subprocess

import kenlm
import pytest

from conftest import BIN

HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
LATIN = ["w" + chr(97 + i // 26) + chr(97 + i % 26) for i in range(400)]  # no digits: units fold them


def sentence(rng, unseen=0.0):
    out = []
    for _ in range(rng.randint(1, 18)):
        if rng.random() < unseen:
            out.append("unseen" + "".join(rng.choice("xyz") for _ in range(8)))
        elif rng.random() < 0.5:
            out.append(HAN[int(rng.random() ** 2 * len(HAN))])
        else:
            out.append(LATIN[int(rng.random() ** 3 * len(LATIN))])
    return " ".join(out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("lm")
    rng = random.Random(13)
    with open(d / "train.jsonl", "w") as f:
        for _ in range(2000):
            doc = "\n".join(sentence(rng) for _ in range(rng.randint(1, 5)))
            f.write(json.dumps({"id": str(rng.random()), "text": doc}, ensure_ascii=False) + "\n")
    test = [sentence(rng) for _ in range(300)] + [sentence(rng, unseen=0.3) for _ in range(200)]
    return d, test


def taojin_scores(arpa, sentences, raw=True):
    args = [BIN, "lm-score", str(arpa)] + (["--raw"] if raw else [])
    out = subprocess.run(args, input="\n".join(sentences) + "\n", capture_output=True, text=True, check=True)
    return [float(line.split("\t")[0]) for line in out.stdout.splitlines()]


def assert_same(arpa, sentences):
    model = kenlm.Model(str(arpa))
    ours = taojin_scores(arpa, sentences)
    theirs = [model.score(s, bos=True, eos=True) for s in sentences]
    assert len(ours) == len(theirs) == len(sentences)
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    assert worst < 1e-4, f"largest difference from kenlm: {worst}"
    # Word by word: kenlm's per-word scores added in double (its score() adds in single
    # precision, which is all of the difference above).
    per_word = [sum(p for p, _, _ in model.full_scores(s)) for s in sentences]
    assert max(abs(a - b) for a, b in zip(ours, per_word)) < 1e-5
    return model


@pytest.mark.parametrize("order,prune", [(3, []), (5, []), (5, ["0", "1", "1", "2", "2"])])
def test_trained_models_score_as_kenlm_scores_them(corpus, order, prune):
    d, test = corpus
    arpa = d / f"o{order}{''.join(prune)}.arpa"
    cmd = [BIN, "train-lm", "--input", str(d / "train.jsonl"), "--order", str(order), "--out", str(arpa)]
    if prune:
        cmd += ["--prune", *prune]
    subprocess.run(cmd, check=True, capture_output=True)
    model = assert_same(arpa, test)
    assert model.order == order
    # The units of these sentences are the words themselves, so both reading modes agree.
    assert taojin_scores(arpa, test[:50], raw=False) == taojin_scores(arpa, test[:50])
    # Unseen words are <unk> to both.
    unseen = [s for s in test if "unseen" in s][:20]
    for s in unseen:
        words = list(model.full_scores(s))
        assert any(oov for _, _, oov in words)


KENLM_STYLE = """\\data\\
ngram 1=6
ngram 2=6
ngram 3=3

\\1-grams:
-99\t<s>\t-0.30103
-0.69897\t</s>
-0.60206\ta\t-0.176091
-0.778151\tb\t-0.221849
-1.0\tc
-1.30103\td\t-0.09691

\\2-grams:
-0.30103\t<s> a\t-0.124939
-0.477121\ta b\t-0.09691
-0.39794\tb a
-0.522879\tb </s>
-0.154902\ta </s>
-0.69897\td b\t-0.045757

\\3-grams:
-0.221849\t<s> a b
-0.09691\ta b </s>
-0.30103\td b a

\\end\\
"""


def test_a_kenlm_style_file_without_unk_scores_the_same(tmp_path):
    arpa = tmp_path / "hand.arpa"
    arpa.write_text(KENLM_STYLE)
    sentences = ["a b", "a b a", "d b a b", "c c c", "x a y", "b", "", "d b a", "a x b a"]
    assert_same(arpa, sentences)


def test_bad_arpa_files_name_the_line(tmp_path):
    cases = {
        "truncated": (KENLM_STYLE[: KENLM_STYLE.index("-0.09691\ta b </s>")], "hand.arpa:23: file ends inside"),
        "counts": (KENLM_STYLE.replace("ngram 2=6", "ngram 2=7"), "hand.arpa:21: `\\data\\` says 7 2-grams"),
    }
    for name, (text, message) in cases.items():
        arpa = tmp_path / "hand.arpa"
        arpa.write_text(text)
        r = subprocess.run([BIN, "lm-score", str(arpa)], input="a b\n", capture_output=True, text=True)
        assert r.returncode != 0, name
        assert message in r.stderr, (name, r.stderr)
    arpa.write_bytes(KENLM_STYLE.replace("c\n", "\xe7\n").encode("latin-1"))
    r = subprocess.run([BIN, "lm-score", str(arpa)], input="a b\n", capture_output=True, text=True)
    assert r.returncode != 0 and "hand.arpa:11: not UTF-8" in r.stderr, r.stderr
