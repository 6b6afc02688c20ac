"""The same measurement as agar-local's `bench` example, with llama.cpp
(llama-cpp-python) on the same GGUF: prompt and generation tokens per second,
time to first token, peak RSS, as one JSON line.

usage: python bench_llama_cpp.py MODEL.gguf THREADS [PROMPT_TOKENS] [GEN_TOKENS] [REPEATS]
"""
import json
import resource
import sys
import time

from llama_cpp import Llama


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    n_prompt = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    n_gen = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    t0 = time.perf_counter()
    llm = Llama(model_path=path, n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                n_batch=256, verbose=False)
    load_ms = (time.perf_counter() - t0) * 1000
    filler = "The quick brown fox jumps over the lazy dog while the river runs to the sea. "
    ids = llm.tokenize(b"<|im_start|>user\n", add_bos=False, special=True)
    while len(ids) < n_prompt:
        ids += llm.tokenize(filler.encode(), add_bos=False, special=False)
    ids = ids[:n_prompt]
    best = None
    for i in range(repeats + 1):
        prompt = list(ids)
        prompt[0] = llm.tokenize(str(i).encode(), add_bos=False, special=False)[0]
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt)
        first = None
        produced = 0
        for _ in range(n_gen):
            tok = llm.sample(temp=0.0)
            if first is None:
                first = time.perf_counter()
            produced += 1
            if produced == n_gen:
                break
            llm.eval([tok])
        end = time.perf_counter()
        if i == 0:
            continue  # warm-up
        ttft = first - start
        prompt_tps = n_prompt / ttft
        gen_tps = (produced - 1) / max(end - first, 1e-9)
        cur = (prompt_tps, gen_tps, ttft)
        best = cur if best is None else (max(best[0], cur[0]), max(best[1], cur[1]), min(best[2], cur[2]))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "engine": "llama.cpp (llama-cpp-python)", "threads": threads,
        "prompt_tokens": n_prompt, "gen_tokens": n_gen,
        "prompt_tps": round(best[0], 1), "gen_tps": round(best[1], 1),
        "ttft_ms": round(best[2] * 1000, 1), "peak_rss_mb": round(rss_mb), "load_ms": round(load_ms),
    }))


if __name__ == "__main__":
    main()
