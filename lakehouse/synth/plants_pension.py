"""Planted pension cases: R01, R02, R03, R07, R08 and the survival suspects (M01), with decoys."""

from __future__ import annotations

import datetime as dt

from lakehouse.synth.population import Person
from lakehouse.synth.scenarios import Planter, at_age, visible_from
from lakehouse.synth.timeline import add_months, month_index, month_start

R01, R02, R03 = "R01_PAID_AFTER_DEATH", "R02_DUPLICATE_PENSION", "R03_EARLY_RETIREMENT"
R07, R08, M01 = "R07_LOW_CONTRIB_BASE", "R08_EMIGRATED_STILL_PAID", "M01_SURVIVAL_SUSPECT"
SCHEMES = ("110", "120", "170")


def plan(pl: Planter) -> None:
    """All pension plants."""
    _r01(pl)
    _r01_decoys(pl)
    _r02(pl)
    _r03(pl)
    _r07(pl)
    _r08(pl)
    _m01(pl)


def _payday_after(pl: Planter, day: dt.date) -> dt.date:
    """The first pension payment day after `day`."""
    pay = int(pl.ctx.settings.pension["payment_day"])
    candidate = month_start(month_index(day)) + dt.timedelta(days=pay - 1)
    return candidate if candidate > day else add_months(candidate, 1)


def _r01(pl: Planter) -> None:
    """Dead pensioners still paid: registered in 户籍, by cremation only, with an old/new double
    record in a paid month (counts once) or with 户籍 and cremation disagreeing on the date."""
    n = pl.cases
    for i in range(n):
        live = pl.live(i, n, room_needed=6)
        variant = "hkzx" if live else ("hkzx", "huohua_only", "double_record", "swrq_later")[i % 4]
        p = pl.pick(66, 88, local=variant != "huohua_only") or pl.pick(66, 88)
        if p is None:
            return
        scheme = SCHEMES[i % 3] if variant != "double_record" else "110"
        pl.pensioner(p, scheme, code_style="both" if variant == "double_record" else "new",
                     old_code="11" if variant == "double_record" else None)
        p.flags |= {"family_uses_account", "keep_account"}
        if live:
            death = pl.start - pl.days(35, 50)  # the month after the death is paid before the start
            registered = pl.start + pl.days(1, pl.room - 3)
            pl.kill(p, death, hkzx_on=registered)
            p.paid_through = month_index(pl.tl.sim_end) + 1
            detail = f"死亡{death}，户籍注销登记于{registered}（在增量夜间送达），养老金继续发放"
        else:
            death = pl.before_start(150, 400).replace(day=int(pl.rng.integers(1, 21)))
            registered = death + pl.days(20, 90)
            months_paid = int(pl.rng.integers(1, 4))
            p.paid_through = month_index(death) + months_paid
            if variant == "huohua_only":
                p.hukou_region = None
                pl.kill(p, death, cremated_on=death + pl.days(1, 7))
                detail = f"死亡{death}，仅有火化记录，死亡后仍发放{months_paid}个月"
            elif variant == "swrq_later":
                swrq = add_months(death, 1)
                pl.kill(p, death, hkzx_on=swrq + pl.days(5, 40), cremated_on=death + pl.days(1, 5), swrq=swrq)
                p.paid_through = month_index(death) + 1
                detail = f"火化记录死亡日期{death}，户籍登记死亡日期{swrq}：按最早死亡日期，死亡次月仍发放"
            else:
                pl.kill(p, death, hkzx_on=registered)
                detail = f"死亡{death}，户籍注销{registered}，死亡后仍发放{months_paid}个月"
                if variant == "double_record":
                    p.double_months = {month_index(death) + 1}
                    detail += "；其中一个月新老系统各记一笔（11与110），只算一次"
        pl.add(R01, f"r01_{variant}{'_live' if live else ''}", p, detail)


def _r01_decoys(pl: Planter) -> None:
    """Death registered, paid for the month of death (paid before the death day), then stopped."""
    for _ in range(pl.decoys):
        p = pl.pick(66, 88, local=True)
        if p is None:
            return
        pl.pensioner(p, "110")
        death = pl.before_start(100, 300).replace(day=int(pl.rng.integers(16, 29)))
        pl.kill(p, death, hkzx_on=death + pl.days(5, 40))
        pl.add(R01, "r01_decoy_paid_in_death_month", p, f"死亡{death}，当月养老金已于死亡前发放，次月停发", decoy=True)


def _r02(pl: Planter) -> None:
    """Paid under two schemes for the same months; decoys: one scheme under both code systems."""
    pairs = (("110", "new", None, "170"), ("110", "old", "11", "170"), ("120", "new", None, "17"))
    n = pl.cases
    for i in range(n):
        scheme, style, old, second = pairs[i % 3]
        p = pl.pick(64, 80, sex=1)
        if p is None:
            return
        pl.pensioner(p, scheme, code_style=style, old_code=old)
        payday = _payday_after(pl, pl.start - dt.timedelta(days=1))
        live = pl.live(i, n, room_needed=1) and payday <= pl.tl.sim_end
        since = month_start(month_index(payday)) if live else month_start(month_index(pl.start) - int(pl.rng.integers(3, 15)))
        amount = round(float(pl.rng.uniform(250, 650)), 2)
        p.second_scheme = (second, since, amount)
        pl.add(R02, f"r02_{old or scheme}_{second}{'_live' if live else ''}", p,
               f"自{since:%Y年%m月}起同时按{old or scheme}与{second}领取养老金")
    for code, old in (("110", "11"), ("120", "JG")):
        for _ in range(pl.decoys):
            p = pl.pick(64, 85)
            if p is None:
                return
            pl.pensioner(p, code, code_style="both", old_code=old)
            months = month_index(pl.start) - 1 - int(pl.rng.integers(0, 12))
            p.double_months = {months, months - 1}
            pl.add(R02, f"r02_decoy_{old}_{code}", p, f"新老二套系统：同月{old}与{code}各一条记录，实为一个险种",
                   decoy=True)


def _r03_shape(pl: Planter, p: Person, birth: dt.date, sex: int, scheme: str, retire: dt.date,
               special: bool = False) -> None:
    pl.city.rebirth(p, birth, sex)
    pl.pensioner(p, scheme, retired_on=retire, special=special)


def _r03(pl: Planter) -> None:
    """Retirement before the legal age; decoys exactly at it (special jobs, women at 50, reform)."""
    s = pl.start
    reform_man = dt.date(1965, 6, 10)

    def years_ago(years: int) -> dt.date:
        return s.replace(year=s.year - years, day=10)

    hits = [
        ("woman_110_at_47", 2, "110", years_ago(54), 47, 0, False),
        ("man_110_at_57", 1, "110", years_ago(64), 57, 0, False),
        ("man_reform_at_60", 1, "110", reform_man, 60, 0, False),
        ("woman_120_at_52", 2, "120", years_ago(58), 52, 0, False),
        ("special_man_at_53", 1, "110", years_ago(60), 53, 0, True),
    ]
    n = pl.cases
    for i in range(n):
        name, sex, scheme, birth, years, months, special = hits[i % len(hits)]
        if name == "man_reform_at_60" and (i >= len(hits) or at_age(birth, years) >= s):
            # the reform case exists once (and needs a start after mid-2025)
            name, sex, scheme, birth, years, months, special = hits[1]
        if i >= len(hits):
            birth = birth.replace(year=birth.year - i // len(hits))
        retire = at_age(birth, years, months)
        live_day = s if s.day == 1 else month_start(month_index(s) + 1)
        live = pl.live(i, n, room_needed=(live_day - s).days + 8) and name == "woman_110_at_47"
        if live:  # retires during the nights: visible with the next pension snapshot
            birth = add_months(live_day, -(47 * 12) - 1).replace(day=12)
            retire = live_day
        p = pl.pick(45, 75)
        if p is None:
            return
        _r03_shape(pl, p, birth, sex, scheme, retire, special)
        legal = pl.ctx.policy.legal_retirement(birth, sex, scheme, special)
        pl.add(R03, f"r03_{name}{'_live' if live else ''}", p, f"{retire}退休，法定退休日期{legal}")
    # (name, sex, scheme, first birth, months between the births of repeated decoys, special job)
    decoys = [
        ("special_man_at_55", 1, "110", years_ago(58), -12, True),
        ("woman_110_at_50", 2, "110", years_ago(53), -12, False),
        ("man_reform_at_legal", 1, "110", reform_man, 4, False),
        ("woman_110_reform_at_legal", 2, "110", dt.date(1975, 3, 12), 2, False),
        # the reform moves 110 and 120 only: a 城乡居民 man born after 1964-12 still starts at 60
        ("man_170_at_60", 1, "170", reform_man, 4, False),
    ]
    for name, sex, scheme, first_birth, step, special in decoys:
        for k in range(pl.decoys):
            birth = add_months(first_birth, step * k)
            legal = pl.ctx.policy.legal_retirement(birth, sex, scheme, special)
            if legal >= s:
                continue
            p = pl.pick(45, 75)
            if p is None:
                return
            _r03_shape(pl, p, birth, sex, scheme, legal, special)
            pl.add(R03, f"r03_decoy_{name}", p, f"{legal}退休，恰为法定退休日期", decoy=True)


def _r07(pl: Planter) -> None:
    """Contribution bases below the floor; decoys at the floor, residents, and the employer's
    (lower) regional floor where the person's region has a higher one."""
    policy, employers = pl.ctx.policy, pl.city.employers
    n = pl.cases
    for i in range(n):
        p = pl.pick(28, 45)
        if p is None:
            return
        pl.contributor(p, "110")
        employer = employers[p.employer]  # type: ignore[index]
        live_day = month_start(month_index(pl.start)) + dt.timedelta(days=employer.pay_day - 1)
        live = pl.live(i, n, room_needed=1) and pl.start <= live_day < pl.tl.sim_end
        first = month_index(pl.start) if live else month_index(pl.start) - int(pl.rng.integers(4, 20))
        span = 1 if live else int(pl.rng.integers(3, 7))
        for m in range(first, first + span):
            floor = policy.floor(m // 12, employer.region)
            p.base_override[m] = floor - 10 * int(pl.rng.integers(20, 90))
        pl.add(R07, f"r07_below_floor{'_live' if live else ''}", p,
               f"{span}个月缴费基数低于{employer.region}当年下限（单位{employer.aab001}）")
    for _ in range(pl.decoys):
        p = pl.pick(28, 45)
        if p is None:
            return
        pl.contributor(p, "110")
        employer = employers[p.employer]  # type: ignore[index]
        first = month_index(pl.start) - int(pl.rng.integers(4, 20))
        for m in range(first, first + 4):
            p.base_override[m] = policy.floor(m // 12, employer.region)
        pl.add(R07, "r07_decoy_at_floor", p, "缴费基数恰为下限", decoy=True)
    for _ in range(pl.decoys):
        p = pl.pick(30, 55)
        if p is None:
            return
        pl.contributor(p, "170")
        pl.add(R07, "r07_decoy_resident_170", p, "城乡居民养老保险按档次缴费，基数低于职工下限属正常", decoy=True)
    low = [e for e in employers if e.kind == "10" and policy.floor(2026, e.region) < policy.floor(2026, "330102")]
    for _ in range(pl.decoys if low else 0):
        p = pl.pick(28, 45)
        if p is None:
            return
        pl.contributor(p, "110")
        employer = low[int(pl.rng.integers(len(low)))]
        p.employer, p.region = employer.eid, "330102"
        first = month_index(pl.start) - int(pl.rng.integers(4, 20))
        for m in range(first, first + 4):
            p.base_override[m] = policy.floor(m // 12, employer.region) + 100
        pl.add(R07, "r07_decoy_employer_region", p,
               f"居住330102，单位在{employer.region}：基数高于单位所在区下限、低于居住区下限", decoy=True)


def _r08(pl: Planter) -> None:
    """Emigrated (户籍注销 02) and still paid; decoys paid only in the month of cancellation."""
    for i in range(pl.cases + pl.decoys):
        decoy = i >= pl.cases
        p = pl.pick(64, 80, local=True)
        if p is None:
            return
        pl.pensioner(p, SCHEMES[i % 3])
        cancelled = pl.before_start(60, 300)
        p.cancel_reason, p.cancelled_on = "02", cancelled
        p.trips = [(cancelled - pl.days(0, 20), None)]
        if decoy:
            pl.add(R08, "r08_decoy_paid_in_cancellation_month", p, f"{cancelled}出国定居注销，当月发放后停发",
                   decoy=True)
            continue
        months = int(pl.rng.integers(2, 6))
        p.paid_through = min(month_index(cancelled) + months, month_index(pl.tl.sim_end))
        pl.add(R08, "r08_emigrated_still_paid", p, f"{cancelled}出国定居注销户籍，之后仍发放养老金")


def _m01(pl: Planter) -> None:
    """Dead pensioners nobody registered: the pension (and a relative's ATM use) goes on, every
    other sign of life stops. Decoys: alive pensioners abroad for months (no signs either)."""
    for i in range(pl.cases):
        p = pl.pick(72, 92)
        if p is None:
            return
        pl.pensioner(p, SCHEMES[i % 3])
        death = pl.before_start(60, 300)
        pl.kill(p, death)
        p.paid_through = month_index(pl.tl.sim_end) + 12
        p.flags |= {"family_uses_account", "keep_account", "keep_card"}
        pl.add(M01, "m01_unregistered_death", p, f"{death}死亡，无任何死亡登记，养老金照发，亲属ATM取款",
               check=visible_from(pl.tl.night_of(death + dt.timedelta(days=1))))
    for _ in range(pl.decoys):
        p = pl.pick(66, 85, local=True)
        if p is None:
            return
        pl.pensioner(p, "110")
        out = pl.start - pl.days(60, 150)
        p.trips = [(out, None)]
        pl.add(M01, "m01_decoy_alive_abroad", p, f"{out}出境，至今未入境，仍健在", decoy=True,
               check=visible_from(pl.tl.night_of(out + dt.timedelta(days=1))))

