"""Chinese personal and organisation names (common characters, all encodable in GBK)."""

from __future__ import annotations

import numpy as np

# Surnames roughly by frequency; the compound ones give the occasional 4-character name.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤楼俞应柴虞骆裘"
)
_COMPOUND = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐")
_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林建国志文海峰东洋亮晨阳轩博睿"
_FEMALE = "芳娜敏静丽艳娟霞秀英华慧巧美娅玉萍红梅琳雪倩婷颖蕾琴云莉兰凤洁佳怡欣悦琪涵萱雯晴月"
_SHARED = "子一嘉思雨安晓小春秋新永德利金"

_FIRMS = ("华信", "恒达", "东方", "新世纪", "海创", "中天", "阿里", "网讯", "联创", "博远", "鼎盛", "天成",
          "钱塘", "之江", "西溪", "运河", "良渚", "湘湖", "富春", "明德", "万象", "汇通", "星辰", "鸿业")
_TRADES = ("科技", "信息技术", "贸易", "建设", "机械", "电子", "物流", "餐饮管理", "纺织", "服饰", "医药",
           "汽车配件", "文化传媒", "物业管理", "网络", "食品", "装饰工程", "环保")
_GOV = ("财政局", "教育局", "卫生健康局", "民政局", "人力资源和社会保障局", "城市管理局", "街道办事处",
        "市场监督管理局", "住房和城乡建设局")
_INST = ("第一人民医院", "中医院", "实验小学", "第二中学", "图书馆", "疾病预防控制中心", "社区卫生服务中心",
         "职业技术学校", "文化馆")


def person_name(rng: np.random.Generator, sex: int) -> str:
    """A 2–4 character name; frequent surnames more often, 4 characters only with compound ones."""
    if rng.random() < 0.01:
        surname = _COMPOUND[int(rng.integers(len(_COMPOUND)))]
    else:
        # a Zipf-like pick favours the first surnames of the list
        surname = _SURNAMES[min(int(rng.zipf(1.25)) - 1, len(_SURNAMES) - 1) if rng.random() < 0.7
                            else int(rng.integers(len(_SURNAMES)))]
    pool = _MALE if sex == 1 else _FEMALE
    given_len = 2 if len(surname) == 2 or rng.random() < 0.7 else 1
    chars = [pool[int(rng.integers(len(pool)))] if rng.random() < 0.8 else _SHARED[int(rng.integers(len(_SHARED)))]
             for _ in range(given_len)]
    return surname + "".join(chars)


def employer_name(rng: np.random.Generator, kind: str, region_name: str, city: str) -> str:
    """Name of an enterprise (`10`), government body (`30`) or public institution (`50`)."""
    if kind == "30":
        return f"{city}市{region_name}{_GOV[int(rng.integers(len(_GOV)))]}"
    if kind == "50":
        return f"{city}市{region_name}{_INST[int(rng.integers(len(_INST)))]}"
    firm = _FIRMS[int(rng.integers(len(_FIRMS)))] + _FIRMS[int(rng.integers(len(_FIRMS)))][:1]
    return f"{city}{firm}{_TRADES[int(rng.integers(len(_TRADES)))]}有限公司"
