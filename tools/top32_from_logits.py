import struct,sys,numpy as np
b=open(sys.argv[1],'rb').read(); n,nv=struct.unpack_from('<ii',b,0); toks=struct.unpack_from('<%di'%n,b,8)
lg=np.frombuffer(b,dtype='<f4',offset=8+4*n).reshape(n,nv)
with open(sys.argv[2],'wb') as o:
    o.write(struct.pack('<ii',n,nv)); o.write(struct.pack('<%di'%n,*toks))
    for i in range(n):
        idx=np.argsort(-lg[i],kind='stable')[:32]
        o.write(struct.pack('<32i',*idx)); o.write(struct.pack('<32f',*lg[i][idx]))
