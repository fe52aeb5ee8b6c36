#!/usr/bin/env python3
# Seeds for the fuzz targets from a real chain without building anything: reads the raw
# serialized blocks out of a node's LevelDB log (copy the data dir's chain/ first) and wraps
# them the way peers and clients send them (PRE-PREPARE, BLOCK-RESPONSE, votes, peer frames,
# transactions, contract-call payloads). How the committed corpus was made, from a local
# 4-node cluster after `meterctl demo --records 4` and `meterctl load --count 20`:
#   test/fuzz/corpus_from_leveldb_log.py CHAIN/000003.log CLUSTER_DIR test/fuzz/corpus
# (then CLUSTER_DIR/genesis.json copied to corpus/config/ and test/fuzz/contracts_genesis.json).
# fuzz_make_corpus (make_corpus.cpp) does the same from a running node.
import struct, os, sys, json, shutil
log, cfgdir, out = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(log,'rb').read()
# LevelDB log: 32 KiB blocks of records (crc32c 4, len 2, type 1).
records=[]; frag=b''; pos=0
while pos + 7 <= len(data):
    blk_left = 32768 - (pos % 32768)
    if blk_left < 7: pos += blk_left; continue
    crc, ln, typ = struct.unpack('<IHB', data[pos:pos+7])
    if typ == 0 and ln == 0: pos += blk_left; continue
    payload = data[pos+7:pos+7+ln]; pos += 7+ln
    if typ == 1: records.append(payload)
    elif typ == 2: frag = payload
    elif typ == 3: frag += payload
    elif typ == 4: records.append(frag+payload); frag=b''
def varint(b,i):
    r=0;s=0
    while True:
        c=b[i];i+=1;r|=(c&0x7f)<<s;s+=7
        if c<0x80: return r,i
blocks={}
for r in records:
    i=12; cnt=struct.unpack('<I',r[8:12])[0]
    for _ in range(cnt):
        tag=r[i];i+=1
        kl,i=varint(r,i);k=r[i:i+kl];i+=kl
        if tag==1:
            vl,i=varint(r,i);v=r[i:i+vl];i+=vl
            if k[:1]==b'b' and len(k)==9: blocks[struct.unpack('>Q',k[1:])[0]]=v
def fields(b):
    i=0;out=[]
    while i<len(b):
        key,i=varint(b,i);f=key>>3;w=key&7
        if w==0: v,i=varint(b,i)
        elif w==2: l,i=varint(b,i);v=b[i:i+l];i+=l
        elif w==1: v=b[i:i+8];i+=8
        elif w==5: v=b[i:i+4];i+=4
        else: raise Exception('wire')
        out.append((f,w,v))
    return out
def enc_varint(n):
    o=b''
    while True:
        c=n&0x7f;n>>=7
        if n: o+=bytes([c|0x80])
        else: return o+bytes([c])
def ld(f,b): return enc_varint(f<<3|2)+enc_varint(len(b))+b
def vi(f,n): return enc_varint(f<<3)+enc_varint(n)
def add(t,name,b):
    if len(b)>16384: return
    d=os.path.join(out,t); os.makedirs(d,exist_ok=True); open(os.path.join(d,name),'wb').write(b)
orgs=0; ntx=0; ncall=0
for h in sorted(blocks):
    blk=blocks[h]; add('block','block-%d'%h,blk)
    fs=fields(blk)
    header=[v for f,w,v in fs if f==1]
    txs=[v for f,w,v in fs if f==2]
    cert=[v for f,w,v in fs if f==3]
    bare=b''.join(ld(1,x) for x in header)+b''.join(ld(2,t) for t in txs)
    for t in txs:
        add('tx_body','tx-%d'%ntx,t)
        body=[v for f,w,v in fields(t) if f==1][0]
        add('tx_body','body-%d'%ntx,body)
        add('codec','body-%d'%ntx,b'\x1b'+body)
        payload=[v for f,w,v in fields(body) if f==3]
        typ=[v for f,w,v in fields(body) if f==2]
        if payload and typ and typ[0]==2 and ncall<20:
            for org in range(4): add('contract_call','call-%d-%d'%(ncall,org),bytes([org])+payload[0])
            ncall+=1
        ntx+=1
    if h==0 or h>8: continue
    # A PRE-PREPARE, a BLOCK-RESPONSE and a COMMIT vote carrying this block / its certificate.
    cf=fields(cert[0]) if cert else []
    sigs=[v for f,w,v in cf if f==4]
    view=[v for f,w,v in cf if f==2]; view=view[0] if view else 0
    bhash=[v for f,w,v in cf if f==3]; bhash=bhash[0] if bhash else b'\0'*32
    sig0=[v for f,w,v in fields(sigs[0]) if f==2][0] if sigs else b''
    pp=vi(1,0)+ld(2,sig0)+ld(3,vi(1,view)+vi(2,h)+ld(3,bare))
    br=vi(1,1)+ld(9,ld(1,blk)+vi(2,h))
    vote=vi(1,2)+ld(2,sig0)+ld(4,vi(1,2)+vi(2,view)+vi(3,h)+ld(4,bhash))
    cp=vi(1,3)+ld(2,sig0)+ld(5,vi(1,h)+ld(2,bhash)+ld(3,b'\x11'*32))
    vc=vi(1,1)+ld(2,sig0)+ld(6,vi(1,view+1)+ld(3,cert[0] if cert else b'')+ld(4,vi(1,view)+ld(2,bare))+vi(5,1)+ld(6,sig0))
    req=vi(1,2)+ld(2,sig0)+ld(8,vi(1,h)+vi(2,h+7))
    for name,env in [('preprepare',pp),('blockresponse',br),('vote',vote),('checkpoint',cp),('viewchange',vc),('blockrequest',req)]:
        add('consensus','%s-%d'%(name,h),env); add('peer_frame','%s-%d'%(name,h),ld(2,env))
    if txs: add('peer_frame','txs-%d'%h,ld(4,b''.join(ld(1,t) for t in txs))); add('peer_frame','tx-%d'%h,ld(3,txs[0]))
    add('peer_frame','hello-%d'%h,ld(1,ld(1,b'tianjin-meter-1')+vi(2,1)+ld(3,bhash)+ld(4,sig0)+vi(5,0)+ld(6,bhash)))
    add('codec','sig-%d'%h,b'\xff'+sig0)
shutil.copy(os.path.join(cfgdir,'node0','node.json'),os.path.join(out,'config','node.json')) if os.makedirs(os.path.join(out,'config'),exist_ok=True) is None else None
print(len(blocks),'blocks',ntx,'txs',ncall,'calls')
