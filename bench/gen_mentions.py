#!/usr/bin/env python3
"""Deterministic synthetic social-media mentions for the benchmarks.

    bench/gen_mentions.py ROWS [--seed N] [--originals-only] > mentions.tsv

Prints ROWS lines "id<TAB>text" (ids 1..ROWS), the same lines for the same
arguments (Python 3's seeded Mersenne Twister, no hash randomisation, no
downloaded data).  Nothing is copied from real posts: every text is composed
here from small hand-written vocabularies.  What makes it look like a feed
rather than random words:

- Topics and brands cluster: 24 topics (phones, airlines, coffee, football,
  ...), each with its own invented brands, products, aspects, hashtags and
  praise/complaint phrases.  Topic popularity is Zipf-distributed (a few
  topics dominate the feed), and so are brands within a topic and aspects
  within a brand's product.
- Texts are built from 42 sentence frames (praise, complaint, question,
  news, neutral statement) filled from the topic and from VADER
  lexicon words (love, awful, disappointed, ...), with intensifiers,
  negations, emoji, @handles and hashtags.
- Word frequencies are Zipf-like: filler words come from a list of common
  English words ranked by frequency (weight 1/rank^1.1), and a long tail of
  30,000 invented words (names, places, slang, typos' worth of rare tokens)
  drawn with weight 1/rank, so the vocabulary keeps growing with the corpus
  as real vocabularies do.  A few words per hundred get a typo (two letters
  swapped, a letter doubled or dropped).
- Near-duplicates as in real feeds: about 14 % of mentions are retweets
  ("RT @handle: " + an earlier mention; popular mentions get retweeted more,
  a preferential-attachment process over recent retweets), 7 % are an earlier mention lightly
  edited (a word swapped, a hashtag or emoji added, "so true" prepended).
  Of the original mentions 4 % come from promotion bots that post one of
  four templates with different numbers, and 8 % are short small talk
  ("good morning everyone").

--originals-only leaves out the retweets and edited copies (for queries:
new texts, not copies of stored ones).  The scripts/demo_mentions.tsv texts
are not used; this generator only borrows their style.
"""
import argparse
import bisect
import itertools
import random
import sys

# ---------------------------------------------------------------- vocabulary
# topic: (hashtags, brands, products, aspects, praise, complaints)
TOPICS = [
    ("tech phone", ["Aurora", "Nexora", "Pixelo", "Voltan"], ["phone", "X2", "Pro Max", "Lite"],
     ["battery", "camera", "screen", "charger", "update", "speaker", "signal", "price"],
     ["lasts all day", "takes stunning photos", "is so smooth", "charges in minutes"],
     ["dies before lunch", "keeps freezing", "overheats", "cracked after a week"]),
    ("tech laptop", ["Corvid", "Lumatek", "Aurora"], ["laptop", "notebook", "ultrabook"],
     ["keyboard", "fan", "trackpad", "battery", "display", "hinge", "boot time"],
     ["boots in seconds", "is whisper quiet", "handles everything I throw at it"],
     ["sounds like a jet engine", "won't wake from sleep", "runs so hot"]),
    ("apps", ["Chatterly", "Snapdeck", "Nimbus", "Pocketly", "Tasko"], ["app", "update", "new version"],
     ["dark mode", "login", "notifications", "sync", "search", "redesign", "upload"],
     ["is so much cleaner now", "finally works offline", "is super fast"],
     ["keeps crashing", "logged me out again", "drains my battery", "lost all my notes"]),
    ("airline travel", ["SkyWest Air", "Bluejet", "Aerolin"], ["flight", "airline", "app", "lounge"],
     ["delay", "crew", "legroom", "luggage", "check-in", "boarding", "refund", "seats"],
     ["crew were lovely", "landed early", "upgrade was a nice surprise"],
     ["was delayed four hours", "lost my luggage", "cancelled with no warning"]),
    ("hotel travel", ["Casa Luma", "Harborview Inn", "Stayzen"], ["hotel", "room", "suite", "resort"],
     ["staff", "breakfast", "pool", "wifi", "bed", "view", "check-in", "noise"],
     ["the view is unreal", "staff were so kind", "best breakfast ever"],
     ["room smelled of smoke", "wifi never worked", "noisy all night"]),
    ("coffee food", ["Harbor Roasters", "Bean There", "Mokka"], ["coffee", "latte", "espresso", "cold brew"],
     ["taste", "price", "barista", "queue", "cup", "beans", "milk"],
     ["is the best in town", "made my morning", "tastes amazing"],
     ["tasted burnt", "is way overpriced", "took twenty minutes"]),
    ("food restaurant", ["Nonna's", "Grillhouse 9", "Saffron Lane", "Taco Loco"], ["pizza", "burger", "tacos", "pasta", "curry"],
     ["waiter", "portion", "service", "delivery", "sauce", "dessert", "price"],
     ["was delicious", "portions are huge", "we'll be back"],
     ["was cold", "rude waiter", "made me sick"]),
    ("delivery retail", ["Shipwise", "Parcelo", "QuickDrop"], ["delivery", "order", "package", "courier"],
     ["tracking", "box", "refund", "driver", "timing", "support"],
     ["arrived a day early", "packed so carefully", "driver was super friendly"],
     ["box was crushed", "never arrived", "left in the rain"]),
    ("retail shop", ["Modera", "Threadline", "UrbanKit"], ["store", "shoes", "jacket", "sale", "jeans"],
     ["fit", "quality", "return policy", "staff", "price", "sizes"],
     ["fit perfectly", "quality is great for the price", "sale was amazing"],
     ["fell apart after two weeks", "return was a nightmare", "sizes are all wrong"]),
    ("support", ["Brightline", "Connecta", "Telvo"], ["support", "helpline", "chat", "call centre"],
     ["hold time", "agent", "ticket", "bill", "answer", "callback"],
     ["fixed my issue in five minutes", "agent was so patient", "sorted it right away"],
     ["kept me on hold for hours", "hung up on me", "never called back"]),
    ("bank fintech", ["Monetra", "Coinly", "Northbank"], ["banking app", "card", "account", "transfer"],
     ["fees", "login", "card", "transfer", "interest", "support", "app"],
     ["transfer was instant", "no fees at all", "app is so easy"],
     ["blocked my card again", "charged hidden fees", "transfer is stuck"]),
    ("football sport", ["FC Riverton", "Atletico Sur", "United Vale"], ["match", "game", "derby", "season"],
     ["goal", "referee", "keeper", "defence", "striker", "fans", "coach"],
     ["what a goal in the last minute", "unbelievable comeback", "best match of the season"],
     ["referee ruined the game", "defence was a joke", "shameful performance"]),
    ("running sport", ["Stridex", "Paceline"], ["running shoes", "marathon", "race", "watch"],
     ["knee", "pace", "training", "route", "cushioning", "finish"],
     ["so proud of my time", "shoes are so comfortable", "new personal best"],
     ["my knee hurts again", "blisters everywhere", "watch lost the gps"]),
    ("music", ["The Lanterns", "Mira Solé", "Echo Park Kids"], ["album", "concert", "tour", "single"],
     ["vocals", "sound", "setlist", "tickets", "lyrics", "encore"],
     ["concert was amazing", "best album of the year", "the encore gave me chills"],
     ["sound was awful", "tickets sold out in seconds", "worst album they ever made"]),
    ("movies", ["Starfall", "Midnight Harbor", "The Last Orchard"], ["movie", "sequel", "trailer", "series"],
     ["ending", "plot", "acting", "effects", "soundtrack", "length"],
     ["laughed the whole time", "acting was brilliant", "better than I expected"],
     ["way too long", "ending made no sense", "boring from start to end"]),
    ("gaming", ["Questforge", "Pixel Arena", "Neon Drift"], ["game", "patch", "console", "season pass"],
     ["servers", "graphics", "matchmaking", "lag", "story", "controls"],
     ["graphics are insane", "story got me hooked", "best update in years"],
     ["servers are down again", "lag is unplayable", "pay to win garbage"]),
    ("commute train", ["Metrolink", "CityRail", "Northern Lines"], ["train", "bus", "tram", "line"],
     ["delay", "seats", "ticket", "driver", "air conditioning", "timetable"],
     ["was on time for once", "new trains are lovely", "driver was so helpful"],
     ["stopped in the middle of nowhere", "cancelled again", "packed like sardines"]),
    ("weather", ["Riverton", "the city", "the coast"], ["weather", "forecast", "storm", "heatwave"],
     ["rain", "sun", "wind", "snow", "power cut", "flooding"],
     ["perfect day for a picnic", "gorgeous sunset tonight", "finally some sun"],
     ["raining again", "storm knocked out the power", "streets are flooded"]),
    ("health", ["St. Clare", "Medwell", "CareFirst"], ["hospital", "clinic", "pharmacy", "appointment"],
     ["nurses", "waiting room", "doctor", "prescription", "staff", "wait"],
     ["nurses were wonderful", "doctor really listened", "quick and friendly"],
     ["waited five hours", "lost my prescription", "nobody explained anything"]),
    ("work business", ["Acme Corp", "Vantage", "Brightwork"], ["office", "team", "meeting", "release", "results"],
     ["manager", "deadline", "layoffs", "coffee machine", "remote work", "salary"],
     ["team shipped the release today", "results look solid", "best team ever"],
     ["another meeting that could have been an email", "layoffs announced today", "deadline is impossible"]),
    ("housing", ["Parkside Homes", "Citynest"], ["flat", "rent", "landlord", "lease"],
     ["rent", "heating", "mould", "neighbours", "deposit", "repairs"],
     ["found a lovely flat near the park", "landlord fixed it the same day", "so excited to move"],
     ["rent went up again", "landlord ignores every email", "mould everywhere"]),
    ("ev cars", ["Voltra", "Kestrel Motors"], ["car", "ev", "charger", "model S3"],
     ["range", "charging", "software", "dealer", "service", "price"],
     ["range is better than advertised", "drives like a dream", "charging is so easy"],
     ["chargers are always broken", "dealer was useless", "software update bricked it"]),
    ("streaming tv", ["Streamly", "Flixbox", "Tuned"], ["subscription", "show", "app", "season"],
     ["price", "ads", "catalogue", "buffering", "episodes", "password sharing"],
     ["new season is fantastic", "catalogue is huge", "worth every penny"],
     ["raised the price again", "buffering every five minutes", "too many ads"]),
    ("pets", ["Pawsome", "Furrytail"], ["dog food", "vet", "cat toys", "grooming"],
     ["dog", "cat", "puppy", "vet", "walk", "treats"],
     ["my dog loves it", "the vet was so gentle", "best purchase ever"],
     ["made my cat sick", "vet bill was insane", "toy broke in a day"]),
]

POS = ["love", "great", "amazing", "awesome", "excellent", "good", "nice", "happy", "fantastic", "perfect",
       "best", "wonderful", "impressive", "solid", "brilliant", "glad", "excited", "grateful", "lovely", "fun"]
NEG = ["terrible", "awful", "bad", "worst", "hate", "broken", "disappointed", "useless", "horrible",
       "annoying", "ridiculous", "sad", "angry", "frustrated", "poor", "shameful", "pathetic", "sucks",
       "disgusting", "ugly"]
INTENS = ["so", "really", "very", "super", "absolutely", "totally", "kinda", "extremely", "pretty", "quite"]
EMOJI = [":)", ":(", ":D", "😂", "❤️", "🔥", "😡", "😭", "👍", "🙄", "☕", "✈️", "⚽", "🎶", "!!!", "..."]
GENERIC_TAGS = ["#fail", "#win", "#mood", "#help", "#monday", "#weekend", "#rant", "#love", "#news", "#review"]

# Common English words, roughly by frequency (rank 1 first); drawn 1/rank^1.1.
COMMON = """the to and a i of is in it you that for my on this was with so be have just but not me at
are all we like get they out up what about if can no do one when your too time today now day new really
been from by how got there an more go as back know who still would will think our some only good people
much see them going make why even want than way then because their had he over first off after well
right need never again also last here last little week still ever every thing lol yes oh year long night
home morning love made work its other around been much better since great could should any take those
always down feel best right said guys man tonight tomorrow yesterday already pretty thanks everyone someone
nothing something anyone everything literally actually honestly seriously basically apparently probably
maybe finally hope wait next old big small full free real sure whole same each few many most last early
late fast slow hard easy open close start stop try help call tell ask keep let put give find look watch
read play pay buy sell send leave stay move wish miss meet kind sort bit lot times minutes hours days weeks
months friends family kids mom dad guy girl team city place world thing stuff idea point story reason
problem issue question answer money price deal plan news life job car house room food water coffee phone
""".split()

SMALLTALK = [
    "good morning everyone", "lol same", "can't believe it's {day} already", "who else is up this late",
    "happy {day} everyone", "need more coffee", "this week has been so long", "weekend plans anyone",
    "just saying", "not sure how I feel about this", "well that happened", "ok this is funny",
    "thank you all for the kind words", "what a day", "finally home", "anyone else watching this",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

# Sentence frames; {b} brand, {p} product, {a} aspect, {pr} praise, {co} complaint, {pos}/{neg} lexicon
# word, {i} intensifier, {n} a number, {tail} a rare word.
FRAMES_POS = [
    "Just got the new {b} {p} and the {a} is {i} {pos}",
    "{b} {p}: the {a} {pr}",
    "I {i} love my {b} {p}, the {a} {pr}",
    "the {a} on the {b} {p} is {pos}, {pr}",
    "shoutout to {b}, the {a} {pr}",
    "{pos} {a}, {pos} {p}, {b} never disappoints",
    "honestly the {b} {p} {pr}",
    "{b} {pr} and the {a} is {pos}",
    "ok the {b} {p} is {i} {pos} {emoji}",
    "{pr} with {b} today, {pos} {a}",
    "if you need a {p}, get the {b} one, the {a} {pr}",
    "so happy with the {b} {p}, {pr}",
    "day {n} with the {b} {p} and the {a} still {pr}",
    "cannot recommend {b} enough, {pr}",
    "the new {a} from {b} is {i} {pos}",
]
FRAMES_NEG = [
    "the {b} {p} {co}. {i} {neg}",
    "{b} {p}: the {a} {co}",
    "why does the {b} {a} always {co_bare}?",
    "never buying {b} again, the {p} {co}",
    "the {a} on my {b} {p} {co}, {neg}",
    "{neg} {a} from {b}. {co}",
    "dear {b}, the {a} {co} and nobody cares",
    "{b} {p} {co} again, {i} {neg}",
    "{i} {neg} with {b}, the {a} {co}",
    "day {n} of the {b} {p} and the {a} {co}",
    "not happy with {b}, {co}",
    "thanks {b}, my {p} {co}. {emoji}",
    "who else thinks the {b} {a} is {neg}?",
    "{b} support please, my {p} {co}",
    "the worst {p} ever, {b} {co}",
]
FRAMES_NEU = [
    "the {b} {p} arrives on {day}",
    "anyone tried the {a} on the new {b} {p}?",
    "{b} announced a new {p} today",
    "thinking about getting the {b} {p}, how is the {a}?",
    "{b} {p} review: {a}, price and everything else",
    "is the {b} {a} worth it",
    "the {b} {p} is out in {n} days",
    "comparing the {a} of the {b} {p} and the old one",
    "{b} changed the {a} on the {p}",
    "got the {b} {p} in the end, we'll see",
    "{b} is opening a new store in {tail}",
    "the {b} {p} event starts at {n} pm",
]
BOT_FRAMES = [
    "{b} deal: {n}% off every {p} today only, link in bio",
    "WIN a free {b} {p}! retweet and follow to enter, ends {day}",
    "flash sale at {b}: {p} from {n} dollars, code SAVE{n}",
    "{n} reasons the {b} {p} is trending right now",
]
EDITS = ["so true", "this!!", "exactly", "same here", "facts", "+1", "lol", "wow", "can confirm"]


def zipf_cum(n, s):
    """Cumulative weights 1/rank^s for ranks 1..n."""
    return list(itertools.accumulate(1.0 / (r ** s) for r in range(1, n + 1)))


class Generator:
    def __init__(self, seed, originals_only=False):
        self.rng = random.Random(seed)
        # The invented words and handles do not depend on the stream's seed, so
        # queries share the corpus's vocabulary.
        shape = random.Random(20240601)
        cons = "b c d f g h j k l m n p r s t v w z br ch dr gr kr pl sh st tr".split()
        vows = "a e i o u ai ea oo ou".split()
        ends = ["", "", "n", "r", "s", "x", "l", "k", "th", "nd"]
        sylls = [c + v for c in cons for v in vows]
        words = set()
        while len(words) < 30000:
            w = "".join(shape.choice(sylls) for _ in range(shape.choice((2, 2, 3)))) + shape.choice(ends)
            words.add(w)
        self.tail = sorted(words)
        shape.shuffle(self.tail)
        self.tail_cum = zipf_cum(len(self.tail), 1.0)
        self.common_cum = zipf_cum(len(COMMON), 1.1)
        self.topic_cum = zipf_cum(len(TOPICS), 0.9)
        # per topic: brands Zipf 1.2, products and aspects Zipf 1.0
        self.cums = [(zipf_cum(len(t[1]), 1.2), zipf_cum(len(t[2]), 1.0), zipf_cum(len(t[3]), 1.0))
                     for t in TOPICS]
        self.handle_cum = zipf_cum(5000, 1.0)
        self.originals_only = originals_only
        self.history = []	# original texts, for retweets and edits
        self.popular = []	# indexes into history, repeated per retweet (preferential attachment)

    def zipf(self, seq, cum):
        return seq[bisect.bisect_left(cum, self.rng.random() * cum[-1])]

    def pick(self, seq):
        return seq[int(self.rng.random() * len(seq))]

    def handle(self):
        i = bisect.bisect_left(self.handle_cum, self.rng.random() * self.handle_cum[-1])
        return "@" + self.tail[(i * 7919) % len(self.tail)] + str(i % 97)

    def typo(self, w):
        if len(w) < 4 or not w.isalpha():
            return w
        i = 1 + int(self.rng.random() * (len(w) - 2))
        r = self.rng.random()
        if r < 0.4:
            return w[:i] + w[i + 1] + w[i] + w[i + 2:]
        if r < 0.7:
            return w[:i] + w[i] + w[i:]
        return w[:i] + w[i + 1:]

    def filler(self, n):
        out = []
        for _ in range(n):
            if self.rng.random() < 0.85:
                out.append(self.zipf(COMMON, self.common_cum))
            else:
                out.append(self.zipf(self.tail, self.tail_cum))
        return out

    def fill(self, frame, t):
        tags, brands, products, aspects, praise, complaints = TOPICS[t]
        bcum, pcum, acum = self.cums[t]
        co = self.pick(complaints)
        return frame.format(
            b=self.zipf(brands, bcum), p=self.zipf(products, pcum),
            a=self.zipf(aspects, acum), pr=self.pick(praise), co=co,
            co_bare=co.split(" ", 1)[-1] if co.startswith(("is ", "was ", "keeps ")) else co,
            pos=self.pick(POS), neg=self.pick(NEG), i=self.pick(INTENS), emoji=self.pick(EMOJI),
            n=1 + int(self.rng.random() * 60), day=self.pick(DAYS),
            tail=self.zipf(self.tail, self.tail_cum).capitalize())

    def original(self):
        rng = self.rng
        r = rng.random()
        if r < 0.08:
            text = self.pick(SMALLTALK).format(day=self.pick(DAYS))
            if rng.random() < 0.5:
                text += " " + " ".join(self.filler(1 + int(rng.random() * 5)))
            return text
        t = self.zipf(range(len(TOPICS)), self.topic_cum)
        tags = TOPICS[t][0].split()
        if r < 0.12:
            return self.fill(self.pick(BOT_FRAMES), t) + " #" + tags[0] + " " + self.pick(["#ad", "#deal", "#giveaway"])
        s = rng.random()
        frames = FRAMES_POS if s < 0.42 else FRAMES_NEG if s < 0.80 else FRAMES_NEU
        words = self.fill(self.pick(frames), t).split()
        # filler clause before or after, as people ramble
        k = int(rng.random() * 7)
        if k:
            extra = self.filler(k)
            if rng.random() < 0.7:
                words = words + extra
            else:
                words = extra + words
        words = [self.typo(w) if rng.random() < 0.03 else w for w in words]
        if rng.random() < 0.2:
            words.insert(0, self.handle())
        ntags = int(rng.random() * 3.2)
        for _ in range(ntags):
            words.append("#" + self.pick(tags) if rng.random() < 0.75 else self.pick(GENERIC_TAGS))
        if rng.random() < 0.25:
            words.append(self.pick(EMOJI))
        return " ".join(words)

    def next(self):
        rng = self.rng
        if not self.originals_only and self.history:
            r = rng.random()
            if r < 0.14:
                # retweet: popular mentions are retweeted more
                # (among the last 20,000 retweets: what goes viral is recent)
                if self.popular and rng.random() < 0.7:
                    i = self.popular[-1 - int(rng.random() * min(len(self.popular), 20000))]
                else:
                    i = int(rng.random() * len(self.history))
                self.popular.append(i)
                return "RT " + self.handle() + ": " + self.history[i]
            if r < 0.21:
                words = self.history[int(rng.random() * len(self.history))].split()
                e = rng.random()
                if e < 0.3 and len(words) > 3:
                    words[int(rng.random() * len(words))] = self.filler(1)[0]
                elif e < 0.55:
                    words.append(self.pick(EMOJI))
                elif e < 0.8:
                    words.insert(0, self.pick(EDITS))
                else:
                    words.append(self.pick(GENERIC_TAGS))
                return " ".join(words)
        text = self.original()
        self.history.append(text)
        return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--originals-only", action="store_true")
    args = ap.parse_args()
    g = Generator(args.seed, args.originals_only)
    out = sys.stdout
    for i in range(1, args.rows + 1):
        out.write("%d\t%s\n" % (i, g.next().replace("\t", " ").replace("\\", "")))


if __name__ == "__main__":
    main()
