"""Planted activity cases: settlements after death (R04), 老年卡 taps after death (R05), taps
during an inpatient stay (R06), medical fraud (M02: current cases and audit-labelled history)."""

from __future__ import annotations

import datetime as dt

from lakehouse.synth.medical import Settlement
from lakehouse.synth.oracle import Evidence
from lakehouse.synth.population import Person
from lakehouse.synth.quirks import invalid_spelling
from lakehouse.synth.scenarios import Check, Generators, Planter

R04, R05, R06, M02 = "R04_CLAIM_AFTER_DEATH", "R05_CARD_AFTER_DEATH", "R06_TAP_WHILE_INPATIENT", "M02_MEDICAL_FRAUD"
ONE = dt.timedelta(days=1)


def plan(pl: Planter) -> None:
    """All activity plants."""
    _r04(pl)
    _r05(pl)
    _r06(pl)
    _m02(pl)
    _labelled(pl)


def _spread(pl: Planter, first: dt.date, last: dt.date, count: int) -> list[dt.date]:
    """`count` distinct days in [first, last] (fewer if the span is short), sorted."""
    span = (last - first).days + 1
    if span <= 0:
        return []
    picks = pl.rng.choice(span, size=min(count, span), replace=False)
    return sorted(first + dt.timedelta(days=int(k)) for k in picks)


def _fraud_check(p: Person, settlements: list[Settlement]) -> Check:
    """Visible once a planted settlement arrived; at risk: the fund's share of those arrived.
    (`settlements` is filled when the records are injected, before any check runs.)"""

    def check(ev: Evidence, night: int) -> float | None:
        rids = [s.rid for s in settlements]
        rows = ev.settlements.get(p.pid)
        if rows is None:
            return None
        hit = rows[rows.index.isin(rids) & (rows["_arr"] <= night)]
        return round(float(hit["hifp_pay"].astype(float).sum()), 2) if len(hit) else None

    return check


def _r04(pl: Planter) -> None:
    """Settlements (pharmacy purchases on the card) after a registered death; one with a
    mistyped ID on the settlement that only its psn_no resolves. Decoys: a visit on the
    death day; a purchase after death that was refunded."""
    n = pl.cases
    for i in range(n + 2 * pl.decoys):
        kind = "hit" if i < n else ("decoy_death_day", "decoy_refunded")[(i - n) % 2]
        live = kind == "hit" and pl.live(i, n, room_needed=3)
        p = pl.pick(68, 90, local=True)
        if p is None:
            return
        if pl.rng.random() < 0.5:
            pl.pensioner(p, "110")
        else:
            _insured(p)
        death = pl.start - pl.days(10, 30) if live else pl.before_start(40, 200, "medical", 10)
        if i % 3 == 2 and kind == "hit":
            pl.kill(p, death, cremated_on=death + pl.days(1, 6))
        else:
            pl.kill(p, death, hkzx_on=death + pl.days(3, 9))
        if kind == "hit":
            first = pl.start if live else death + ONE * 2
            last = pl.tl.sim_end if live else min(pl.start - ONE, death + ONE * 45)
            days = _spread(pl, first, last, int(pl.rng.integers(1, 4)))
            typo = i % 3 == 1
            holder: list[Settlement] = []

            def inject(g: Generators, p: Person = p, days: list[dt.date] = days, typo: bool = typo,
                       holder: list[Settlement] = holder) -> None:
                for k, day in enumerate(days):
                    certno = None
                    if typo and k == 0:
                        certno = invalid_spelling(p.certno, 0.1)
                    settlement = g.medical.settle(p, "41", day, day, tag="r04", certno=certno)
                    if certno is not None:
                        log = g.medical.ctx.log
                        log.add_invalid(certno, "medical", "setl.jsonl.gz", settlement.setl_id, p.certno)
                        log.add("setl_certno_invalid_psn_no_resolves", "medical", "setl.jsonl.gz", settlement.setl_id,
                                certno)
                    holder.append(settlement)

            pl.on_inject(inject)
            note = "；其中一笔结算身份证号有误，须经psn_no关联" if typo else ""
            pl.add(R04, f"r04_after_death{'_typo' if typo else ''}{'_live' if live else ''}", p,
                   f"{death}死亡，之后{len(days)}次药店购药结算{note}")
        else:
            day = death if kind == "decoy_death_day" else death + pl.days(3, 20)

            def inject_decoy(g: Generators, p: Person = p, day: dt.date = day, kind: str = kind) -> None:
                if kind == "decoy_death_day":
                    g.medical.settle(p, "11", day, day, tag="r04_decoy")
                else:
                    g.medical.settle(p, "41", day, day, tag="r04_decoy", refund_after=1)

            pl.on_inject(inject_decoy)
            if kind == "decoy_death_day":
                pl.add(R04, "r04_decoy_visit_on_death_day", p, f"{death}死亡当日门诊结算（非死亡后）", decoy=True)
            else:
                pl.add(R04, "r04_decoy_refunded", p, f"{death}死亡，{day}购药结算次日全额退费（结算作废）", decoy=True)


def _insured(p: Person) -> None:
    """Insured as a resident (390) without a pension."""
    from lakehouse.synth.lifecourse import insure

    p.scheme = p.aac001 = p.employer = p.enrolled_on = p.retired_on = p.legal_retirement = None
    insure(p)


def _r05(pl: Planter) -> None:
    """A relative rides on the dead person's 老年卡. Decoys: taps on the death day; taps after
    death on the person's 普通卡 (not a 老年卡)."""
    n = pl.cases
    for i in range(n + 2 * pl.decoys):
        kind = "hit" if i < n else ("decoy_death_day", "decoy_normal_card")[(i - n) % 2]
        live = kind == "hit" and pl.live(i, n, room_needed=10)
        p = pl.pick(66, 88, local=True)
        if p is None:
            return
        _insured(p)
        p.flags |= {"keep_card"} | ({"card01", "no_card05"} if kind == "decoy_normal_card" else {"card05"})
        if live:
            death = pl.start + pl.days(1, max(1, pl.room // 3))
            pl.kill(p, death, hkzx_on=min(pl.tl.sim_end - ONE, death + pl.days(2, 6)))
            first, last = death + ONE, pl.tl.sim_end
        else:
            death = pl.before_start(15, 40, "transit", 5)
            pl.kill(p, death, hkzx_on=min(pl.start - ONE, death + pl.days(2, 10)))
            first, last = death + ONE, min(pl.start - ONE, death + ONE * 30)
        card_type = "01" if kind == "decoy_normal_card" else "05"
        days = [death] if kind == "decoy_death_day" else _spread(pl, first, last, max(1, (last - first).days // 2))

        def inject(g: Generators, p: Person = p, days: list[dt.date] = days, card_type: str = card_type,
                   tag: str = f"r05_{kind}") -> None:
            card = g.transit.person_cards(p, card_type)[0]
            g.transit.add_taps(card, days, tag)

        pl.on_inject(inject)
        if kind == "hit":
            pl.add(R05, f"r05_elderly_card_after_death{'_live' if live else ''}", p,
                   f"{death}死亡后老年卡仍有{len(days)}天乘车记录")
        elif kind == "decoy_death_day":
            pl.add(R05, "r05_decoy_taps_on_death_day", p, f"{death}死亡当日老年卡乘车", decoy=True)
        else:
            pl.add(R05, "r05_decoy_normal_card_after_death", p, f"{death}死亡后普通卡（01）乘车，非老年卡",
                   decoy=True)


def _stay_with_taps(pl: Planter, p: Person, length: tuple[int, int], live: bool, inside: int | None,
                    tag: str) -> tuple[dt.date, dt.date]:
    """An inpatient stay and taps on the person's card: `inside` days strictly within it, or
    (inside None) on the admission and discharge days only."""
    if p.scheme is None or p.psn_no is None:
        _insured(p)  # the stay must be settled by the medical platform
    p.flags |= {"card05"} if p.age_on(pl.start) >= 60 else {"card01"}
    stay_days = int(pl.rng.integers(*length))
    if live:
        admit = pl.start + pl.days(0, max(0, pl.room - stay_days - 2))
    else:
        admit = pl.before_start(stay_days + 3, 55, "transit", 2)
    discharge = admit + dt.timedelta(days=stay_days)
    p.stays = [(admit, discharge)]
    # inside None: the decoy, taps on the admission and discharge days only
    days = [admit, discharge] if inside is None else _spread(pl, admit + ONE, discharge - ONE, inside)

    def inject(g: Generators, p: Person = p, days: list[dt.date] = days) -> None:
        card = g.transit.person_cards(p)[0]
        g.transit.add_taps(card, days, tag)

    pl.on_inject(inject)
    return admit, discharge


def _r06(pl: Planter) -> None:
    """Taps strictly between admission and discharge; decoys on those two days only."""
    n = pl.cases
    for i in range(n + pl.decoys):
        decoy = i >= n
        live = not decoy and pl.live(i, n, room_needed=12)
        p = pl.pick(60, 85, local=True)
        if p is None:
            return
        admit, discharge = _stay_with_taps(pl, p, (6, 11), live, None if decoy else int(pl.rng.integers(1, 4)),
                                           "r06_decoy" if decoy else "r06")
        if decoy:
            pl.add(R06, "r06_decoy_taps_on_admission_and_discharge", p, f"住院{admit}至{discharge}，仅入院与出院当日乘车",
                   decoy=True)
        else:
            pl.add(R06, f"r06_taps_while_inpatient{'_live' if live else ''}", p, f"住院{admit}至{discharge}期间有乘车记录")


def _m02(pl: Planter) -> None:
    """Current, unlabelled medical fraud: card used while the holder is abroad or dead (no
    death record), fabricated visits, swapped (expensive) drugs, a ghost inpatient stay."""
    kinds = ("daoshua_absent", "daoshua_dead", "xugou", "chuanhuan", "guachuang")
    for i in range(max(pl.cases, len(kinds))):
        kind = kinds[i % len(kinds)]
        p = pl.pick(45, 82, local=True)
        if p is None:
            return
        _insured(p)
        holder: list[Settlement] = []
        if kind == "guachuang":
            admit, discharge = _stay_with_taps(pl, p, (15, 25), False, 6, "m02_guachuang")
            detail = f"住院{admit}至{discharge}期间多日乘车（疑似挂床）"
            pl.add(R06, "r06_m02_guachuang", p, detail)

            def find_stay(g: Generators, p: Person = p, admit: dt.date = admit, holder: list = holder) -> None:
                holder.append(g.medical.stays[(p.pid, admit)])

            pl.on_inject(find_stay)
            pl.add(M02, "m02_guachuang", p, detail, check=_fraud_check(p, holder))
            continue
        if kind == "daoshua_absent":
            out = pl.start - pl.days(70, 120)
            p.trips = [(out, None)]
            days = _spread(pl, out + ONE * 5, pl.start - ONE, int(pl.rng.integers(3, 6)))
            plan = [("41", d, False) for d in days]
            detail = f"{out}出境未归，其间医保卡{len(days)}次药店购药"
        elif kind == "daoshua_dead":
            death = pl.before_start(60, 150, "medical", 10)
            pl.kill(p, death)
            days = _spread(pl, death + ONE * 3, pl.start - ONE, int(pl.rng.integers(2, 5)))
            plan = [("41", d, False) for d in days]
            detail = f"{death}死亡（无死亡登记），之后医保卡{len(days)}次药店购药"
        elif kind == "xugou":
            first = pl.before_start(30, 200, "medical", 10)
            days = _spread(pl, first, first + ONE * 20, int(pl.rng.integers(8, 13)))
            plan = [("11", d, False) for d in days]
            detail = f"{first}起20天内同一医院{len(days)}次门诊（疑似虚构诊疗）"
        else:
            first = pl.before_start(30, 200, "medical", 10)
            days = _spread(pl, first, first + ONE * 60, int(pl.rng.integers(3, 6)))
            plan = [("41", d, True) for d in days]
            detail = f"{first}起药店{len(days)}次购买高价中成药（疑似串换药品）"

        def inject(g: Generators, p: Person = p, plan: list = plan, kind: str = kind, holder: list = holder) -> None:
            facility = g.medical.facility(p, "H" if kind == "xugou" else "P")
            for med_type, day, expensive in plan:
                holder.append(g.medical.settle(p, med_type, day, day, tag=f"m02_{kind}", facility=facility,
                                               expensive=expensive))

        pl.on_inject(inject)
        pl.add(M02, f"m02_{kind}", p, detail, check=_fraud_check(p, holder))


def _labelled(pl: Planter) -> None:
    """Confirmed fraud from past audits: the labels in audit_cases, with their settlements."""
    cfg = pl.ctx.settings.medical
    count = max(int(cfg.get("audit_labels_min", 4)), round(len(pl.city.persons) * cfg["audit_labels_per_1000"] / 1000))
    kinds = ("DAOSHUA", "XUGOU", "CHUANHUAN", "GUACHUANG")
    for i in range(count):
        kind = kinds[i % len(kinds)]
        p = pl.pick(40, 85)
        if p is None:
            return
        _insured(p)
        first = pl.before_start(200, 380, "medical", 5)
        holder: list[Settlement] = []
        if kind == "GUACHUANG":
            p.stays = [(first, first + pl.days(12, 20))]
            plan: list[tuple[str, dt.date, bool]] = []
        else:
            days = _spread(pl, first, first + ONE * 30, int(pl.rng.integers(3, 7)))
            plan = [("11" if kind == "XUGOU" else "41", d, kind == "CHUANHUAN") for d in days]
        confirmed = first + pl.days(60, 150)
        case_id = f"AJ{first:%Y}{i + 1:05d}"

        def inject(g: Generators, p: Person = p, plan: list = plan, kind: str = kind, holder: list = holder,
                   case_id: str = case_id, confirmed: dt.date = confirmed, first: dt.date = first) -> None:
            if kind == "GUACHUANG":
                holder.append(g.medical.stays[(p.pid, first)])
            for med_type, day, expensive in plan:
                holder.append(g.medical.settle(p, med_type, day, day, tag=f"labelled_{kind.lower()}",
                                               expensive=expensive))
            tag = f"labelled_{kind.lower()}"
            if kind == "GUACHUANG":  # a case about the stay as a whole: no settlement named
                g.medical.audit_case(case_id, None, p, kind, confirmed, sum(s.hifp_pay for s in holder), tag)
            for s in holder if kind != "GUACHUANG" else []:
                g.medical.audit_case(case_id, s.setl_id, p, kind, confirmed, s.hifp_pay, tag)

        pl.on_inject(inject)
        pl.add(M02, f"labelled_{kind.lower()}", p, f"已稽核确认（{case_id}，确认于{confirmed}）",
               check=_fraud_check(p, holder))
