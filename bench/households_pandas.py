"""The peer of `paicha import households` (dry run) for bench/households.sh: pandas
read_excel (openpyxl) of the same workbook, then the same checks, vectorised where
pandas can: the header found below title rows, ID numbers (shape, Excel's numbers,
check digit), an ID on two rows, one head per household, 人数 against the rows, yes/no
columns, places matched by name within their township, ages from the IDs.
    python3 bench/households_pandas.py FILE.xlsx DIVISIONS.csv
Prints one JSON line: seconds to read, seconds to check, persons, households, problems."""
import json
import sys
import time

import pandas as pd

path, divisions_path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
head = pd.read_excel(path, header=None, nrows=20, dtype=str)
known = {"户编号", "姓名", "证件号码", "与户主关系", "行政村", "乡(镇)"}
header_row = max(range(len(head)), key=lambda i: sum(str(v) in known for v in head.iloc[i]))
df = pd.read_excel(path, header=header_row, dtype=str)
t1 = time.perf_counter()

problems = 0
ids = df["证件号码"].fillna("").str.upper().str[:18]
shape = ids.str.fullmatch(r"\d{17}[\dX]")
problems += int((~shape).sum())
weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
digits = ids[shape].str[:17].apply(lambda s: sum(int(c) * w for c, w in zip(s, weights)) % 11)
check = digits.map(dict(enumerate("10X98765432")))
problems += int((check != ids[shape].str[17]).sum())
problems += int(ids[shape].duplicated().sum())
heads = (df["与户主关系"] == "户主").groupby(df["户编号"]).sum()
problems += int((heads != 1).sum())
rows = df.groupby("户编号").size()
declared = pd.to_numeric(df.groupby("户编号")["人数"].first(), errors="coerce")
problems += int((declared != rows).sum())
for column in ["是否解决安全饮用水", "是否自来水入户", "是否不愁吃", "是否不愁穿", "是否参加城乡居民基本医疗保险"]:
    problems += int((~df[column].fillna("").isin(["是", "否", ""])).sum())
div = pd.read_csv(divisions_path, dtype=str)
townships = div[div["level"] == "township"].set_index("code")["name"]
villages = div[div["level"].isin(["village", "community"])]
key = villages["parent_code"].map(townships) + "|" + villages["name"]
matched = (df["乡(镇)"] + "|" + df["行政村"]).isin(set(key))
problems += int((~matched).sum())
birth = pd.to_datetime(ids[shape].str[6:14], format="%Y%m%d", errors="coerce")
ages = (pd.Timestamp("2019-07-01") - birth).dt.days // 365
problems += int(ages.isna().sum())
t2 = time.perf_counter()
print(json.dumps({"read_s": round(t1 - t0, 2), "check_s": round(t2 - t1, 2),
                  "persons": len(df), "households": int(rows.size), "problems": problems}))
